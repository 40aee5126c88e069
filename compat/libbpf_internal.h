// SPDX-License-Identifier: Apache-2.0
// File: libbpf_internal.h
//
// What the libbpf-compatible layer's files share. libbpf's logging
// (tools/lib/bpf/libbpf.c libbpf_print, __base_pr): every message of the
// libbpf-compatible layer goes to the callback the program installed with
// libbpf_set_print(); the default prints warnings and info to stderr and drops
// debug messages, as libbpf 1.1 does.

#ifndef BPFEMU_COMPAT_LIBBPF_INTERNAL_H_
#define BPFEMU_COMPAT_LIBBPF_INTERNAL_H_

#include <bpf/libbpf.h>

#include <cstdint>
#include <string>
#include <vector>

#include "loader/object.h"

namespace bpfemu {
struct Prog;
namespace native {
class BtfData;
}  // namespace native
}  // namespace bpfemu

namespace bpfemu::compat {

// Sends one message to the current print callback (none if it is NULL),
// keeping errno as it was.
void Print(enum libbpf_print_level level, const char* format, ...)
    __attribute__((format(printf, 2, 3)));

// libbpf.c check_path(): 0, or -EINVAL (with a warning) when `path` is not
// on the (emulated) BPF filesystem.
int CheckPinPath(const char* path);
// libbpf.c make_parent_dir(): mkdir of the path's directory (mode 0700) on
// the emulated bpffs; an existing one is fine. 0 or -errno.
int MakeParentDir(const char* path);

// ensure_good_fd() for a BTF fd: one at 0-2 is moved to 3 or above
// (btf_compat.cc). The new fd or -errno.
int GoodBtfFd(int fd);

// The BTF model behind a struct btf (btf_compat.cc), for the printer
// (loader/btf_dump.h) that btf_dump__* wraps.
const bpfemu::native::BtfData* BtfDataOf(const struct btf* btf);

// libbpf.c find_attach_btf_id (libbpf_extra.cc): the id of the kernel type
// an attach type names in `btf` (btf_trace_<name> typedef for raw
// tracepoints, bpf_lsm_ / bpf_iter_ functions, else the function), or
// -ENOENT / -ENAMETOOLONG.
int FindAttachBtfId(const struct btf* btf, const char* name,
                    enum bpf_attach_type attach_type);

// libbpf_register_prog_handler()'s custom SEC() definitions
// (libbpf_misc.cc), as libbpf.c find_sec_def() consults them: the custom
// ones in registration order, then libbpf's own table, then the custom
// fallback (registered with sec NULL).
struct CustomSecDef {
  int id = 0;
  enum bpf_prog_type prog_type = BPF_PROG_TYPE_UNSPEC;
  enum bpf_attach_type attach_type = static_cast<enum bpf_attach_type>(0);
  long cookie = 0;
  libbpf_prog_setup_fn_t setup_fn = nullptr;
  libbpf_prog_prepare_load_fn_t prepare_load_fn = nullptr;
  libbpf_prog_attach_fn_t attach_fn = nullptr;
};
// True and the custom definition `sec` resolves to, or false (a built-in
// one, or none).
bool FindCustomSecDef(const char* sec, CustomSecDef* out);

// bpf_program__attach() for a program whose section a custom handler
// defines (libbpf_compat.cc): true and its answer, or false.
bool CustomAttach(const struct bpf_program* prog, struct bpf_link** link);

// bpf_map__attach_struct_ops() (libbpf_compat.cc): writes a .struct_ops
// map's value (its programs' fds in) to element 0 and, for a
// .struct_ops.link map, makes the link (loader/object.h AttachStructOps).
// 0 with *link_fd the link or -1, or -errno (-EINVAL for a map that is not
// a created struct_ops map).
int AttachStructOpsMap(const struct bpf_map* map, int* link_fd);

// BPF_ENABLE_STATS (libbpf_extra.cc): whether a stats fd is still open,
// and counting `cnt` runs taking `ns` into a program's statistics when one
// is (bpf_prog_test_run_opts calls it).
bool StatsEnabled();
void CountRuns(const bpfemu::Prog& prog, uint64_t ns, uint64_t cnt);

// bpf_object__load() after bpf_object__gen_loader() (gen_loader_compat.cc):
// the loader program's instructions and data blob for `object` with the
// settings it would load with (`pin_paths`: each map's pin path, "" for
// none), as libbpf 1.1.2's gen_loader writes them. 0 or -errno.
int GenerateLoader(const bpfemu::native::Object& object,
                   const bpfemu::native::Object::LoadSettings& settings,
                   const std::vector<std::string>& pin_paths,
                   std::vector<uint8_t>* insns, std::vector<uint8_t>* data);

}  // namespace bpfemu::compat

#endif  // BPFEMU_COMPAT_LIBBPF_INTERNAL_H_
