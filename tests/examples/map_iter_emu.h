// SPDX-License-Identifier: Apache-2.0
// map_iter_cases.h's bpf() on bpfemu: emu/syscall.h for the maps,
// loader/object.h for map_iter.bpf.o as bytecode, emu/bpf_iter.h for the
// link and the iterator.

#ifndef BPFEMU_TESTS_EXAMPLES_MAP_ITER_EMU_H_
#define BPFEMU_TESTS_EXAMPLES_MAP_ITER_EMU_H_

#include <linux/bpf.h>
#include <linux/btf.h>

#include <cstring>
#include <vector>

#include "emu/bpf_iter.h"
#include "emu/kernel_btf.h"
#include "emu/prog.h"
#include "emu/syscall.h"
#include "loader/bytecode.h"
#include "loader/object.h"
#include "tests/examples/map_iter_cases.h"

namespace bpfemu::examples {

inline MapIterApi MapIterEmuApi() {
  MapIterApi api;
  api.map_create = [](const MapIterMap& m) {
    MapAttr a;
    a.map_type = m.type;
    a.key_size = m.key_size;
    a.value_size = m.value_size;
    a.max_entries = m.max_entries;
    a.map_flags = m.map_flags;
    std::strncpy(a.map_name, m.name, sizeof(a.map_name) - 1);
    return MapCreate(a);
  };
  api.update = [](int fd, const void* k, const void* v) {
    return MapUpdateElem(fd, k, v, BPF_ANY);
  };
  api.remove = [](int fd, const void* k) { return MapDeleteElem(fd, k); };
  api.map_id = [](int fd) {
    bpf_map_info info = {};
    uint32_t len = sizeof(info);
    return MapGetInfoByFd(fd, &info, &len) == 0 ? info.id : 0u;
  };
  api.load = [](const MapIterArgs& args, const char* prog, int* bss_fd) {
    *bss_fd = -1;
    auto obj = native::Object::OpenBytecode("tests/examples/map_iter.bpf.o");
    if (!obj.ok()) return -ENOENT;
    size_t size = 0;
    uint8_t* bss = (*obj)->InitialValue(".bss", &size);
    if (bss == nullptr || size < sizeof(args)) return -EINVAL;
    std::memcpy(bss, &args, sizeof(args));
    if (int err = (*obj)->Load(); err != 0) return err;
    const native::Program* p = (*obj)->FindProgram(prog);
    if (p == nullptr) return -ENOENT;
    // Copies outlive the object (the program keeps its maps).
    *bss_fd = DupMapFd((*obj)->MapFd(".bss"), 3);
    return DupProgFd(p->fd(), 3);
  };
  api.lookup = [](int fd, const void* k, void* v) {
    return MapLookupElem(fd, k, v);
  };
  api.link_create = [](int prog, uint32_t type, uint32_t target, uint32_t flags,
                       const void* info, uint32_t len) {
    return IterLinkCreate(prog, type, target, flags, info, len);
  };
  api.iter_create = [](int link) { return IterCreate(link, 0); };
  api.close_fd = [](int fd) { (void)CloseFd(fd); };
  api.prog_load = [](uint32_t type, uint32_t eat, uint32_t btf,
                     const std::vector<bpf_insn>& insns) {
    native::ProgLoadFlags flags;
    flags.attach_btf_id = btf;
    return native::ProgLoadBytecode(
        type, eat, "t", reinterpret_cast<const interp::RawInsn*>(insns.data()),
        static_cast<uint32_t>(insns.size()), "GPL", flags);
  };
  api.func_id = [](const char* name) {
    const KernelBtf* btf = KernelBtf::Get();
    const int32_t id =
        btf == nullptr ? 0 : btf->FindByNameKind(name, BTF_KIND_FUNC);
    return id > 0 ? static_cast<uint32_t>(id) : 0u;
  };
  api.struct_id = [](const char* name) {
    const KernelBtf* btf = KernelBtf::Get();
    const int32_t id =
        btf == nullptr ? 0 : btf->FindByNameKind(name, BTF_KIND_STRUCT);
    return id > 0 ? static_cast<uint32_t>(id) : 0u;
  };
  return api;
}

}  // namespace bpfemu::examples

#endif  // BPFEMU_TESTS_EXAMPLES_MAP_ITER_EMU_H_
