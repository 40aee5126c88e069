// SPDX-License-Identifier: Apache-2.0
// File: kernel_object.h
//
// The kernel side of running a BPF object: a `clang -target bpf` object
// loaded through real libbpf (bpf_object__open_file / __load) and its
// programs run with bpf_prog_test_run_opts (net/bpf/test_run.c), shaped like
// the native runner in loader/object.h so tests can run both with the same
// inputs.

#ifndef BPFEMU_KERNEL_COMPARE_KERNEL_OBJECT_H_
#define BPFEMU_KERNEL_COMPARE_KERNEL_OBJECT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

struct bpf_object;

namespace bpfemu {

class KernelObject {
 public:
  // Opens and loads `path`: 0, or -errno from libbpf. The programs named in
  // `skip` are not loaded (bpf_program__set_autoload false): a program the
  // running kernel refuses leaves the others testable.
  static int Load(const std::string& path, std::unique_ptr<KernelObject>* out,
                  const std::vector<std::string>& skip = {});
  ~KernelObject();
  KernelObject(const KernelObject&) = delete;
  KernelObject& operator=(const KernelObject&) = delete;

  int MapFd(const std::string& name) const;   // or -ENOENT
  int ProgFd(const std::string& name) const;  // or -ENOENT

  // An ARENA map's user mapping. libbpf 1.1.2 predates the type (6.9), so
  // Load does what libbpf 1.4's bpf_object__create_maps does for it:
  // creates the map, maps its whole range (at map_extra when set) and hands
  // the fd to libbpf, before the programs load - the verifier refuses a
  // program whose arena has no user address yet.
  struct Arena {
    void* start = nullptr;
    size_t len = 0;
  };
  const Arena* FindArena(const std::string& name) const;  // or nullptr

  struct Result {
    int err = 0;  // bpf_prog_test_run_opts's return value
    uint32_t retval = 0;
    std::vector<uint8_t> data_out;
    uint32_t duration_ns = 0;
  };
  // Packet programs (XDP, tc): `repeat` runs of `data`.
  static Result RunPacket(int prog_fd, const std::vector<uint8_t>& data,
                          int repeat = 1);
  // Raw tracepoint programs: the u64 argument array as ctx.
  static Result RunRawTp(int prog_fd, const std::vector<uint64_t>& args);
  // SYSCALL programs: `size` bytes at `ctx` as ctx_in, which the run
  // writes back.
  static Result RunSyscall(int prog_fd, void* ctx, uint32_t size);

 private:
  explicit KernelObject(bpf_object* obj) : obj_(obj) {}
  bpf_object* obj_;
  std::vector<std::pair<std::string, Arena>> arenas_;
};

}  // namespace bpfemu

#endif  // BPFEMU_KERNEL_COMPARE_KERNEL_OBJECT_H_
