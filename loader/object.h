// SPDX-License-Identifier: Apache-2.0
// File: object.h
//
// The C++ test API for natively built BPF sources (the bpf_object() Bazel
// macro in loader/defs.bzl): open an object by name, load it (its maps are
// created through the emulated bpf() syscall, emu/syscall.h), find maps and
// programs, and run a program on a context the way bpf_prog_test_run_opts()
// does (net/bpf/test_run.c: XDP, socket-buffer and raw-tracepoint contexts).
//
//   auto obj = bpfemu::native::Object::Open("counter");   // counter.bpf.c
//   ASSERT_TRUE(obj.ok());
//   ASSERT_EQ((*obj)->Load(), 0);
//   const auto* prog = (*obj)->FindProgram("count_syscalls");
//   uint64_t args[2] = {0, 59};
//   uint32_t ret = prog->RunRawTp(args);
//   int fd = (*obj)->MapFd("counts");        // use with bpfemu::MapLookupElem
//
// A native object's globals (its map definitions, global variables) exist
// once per process, so one Object per source can be loaded at a time
// (Load() answers -EBUSY otherwise). Destroying the Object closes its fds.
//
// Helper inputs (SetPidTgid, SetComm, ...) and captured bpf_printk output
// are in native/helpers.h.

#ifndef BPFEMU_LOADER_OBJECT_H_
#define BPFEMU_LOADER_OBJECT_H_

#include <linux/bpf.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "emu/map.h"
#include "emu/prog.h"
#include "loader/test_run.h"

struct bpfemu_object_def;

namespace bpfemu::native {

struct ElfObject;

namespace internal {
struct BoundMap;
}  // namespace internal

// A whole file's bytes, read with open/read rather than a stream (a
// directory opens as a stream and its first read throws): 0, or -errno.
int ReadWholeFile(const std::string& path, std::vector<uint8_t>* out);

class Program {
 public:
  const std::string& name() const { return prog_->name; }
  const std::string& section() const { return section_; }
  uint32_t type() const { return prog_->type; }
  uint32_t expected_attach_type() const { return prog_->expected_attach_type; }
  // The end of the furthest context read (emu/prog.h Prog::max_ctx_offset).
  uint32_t max_ctx_offset() const { return prog_->max_ctx_offset; }
  // The program fd (for PROG_ARRAY updates), valid while the Object lives.
  int fd() const { return fd_; }

  // Runs the program on `ctx` (bpf_prog_run), following tail calls.
  uint32_t Run(void* ctx) const;
  // BPF_PROG_TYPE_XDP: the packet sits 256 bytes into a buffer below 4 GiB
  // (struct xdp_md holds 32-bit pointers); ingress_ifindex is 1 (lo), as in
  // bpf_prog_test_run_xdp. The program sees at most one page minus head-
  // and tailroom (3520 bytes); the rest of a longer packet is carried in
  // fragments it cannot reach, and comes back in data_out. err -EINVAL for
  // packets shorter than ETH_HLEN, -ENOMEM beyond 17 fragments. `ctx_in`,
  // if given, is bpf_prog_test_run's xdp_md (metadata length in `data`);
  // the result's ctx_out is then the context after the run.
  PacketResult RunXdp(absl::Span<const uint8_t> packet,
                      const struct xdp_md* ctx_in = nullptr) const;
  // BPF_PROG_TYPE_SCHED_CLS / SCHED_ACT (and SOCKET_FILTER, which sees the
  // frame from its network header on): a struct __sk_buff over the frame
  // (len, protocol and pkt_type as eth_type_trans sets them on lo, data and
  // data_end); mark, priority and cb come from `ctx_in` if given. err
  // -EINVAL as bpf_prog_test_run_skb: shorter than ETH_HLEN, longer than
  // 3712 bytes, or an IPv4 / IPv6 EtherType without room for its header.
  PacketResult RunSkb(absl::Span<const uint8_t> packet,
                      const struct __sk_buff* ctx_in = nullptr) const;
  // BPF_PROG_TYPE_RAW_TRACEPOINT and tracing programs: ctx is the u64 array
  // (padded to MAX_BPF_FUNC_ARGS entries).
  uint32_t RunRawTp(absl::Span<const uint64_t> args) const;

 private:
  friend class Object;
  std::string section_;
  int fd_ = -1;
  std::shared_ptr<const Prog> prog_;  // the descriptor behind fd_
};

class Object {
 public:
  // Finds a native object by name ("counter"), or by the path of its BPF
  // build ("dir/counter.bpf.o", as bpf_object__open_file receives it).
  static absl::StatusOr<std::unique_ptr<Object>> Open(std::string_view name);
  // Reads a `clang -target bpf` object file (elf_object.h): its programs run
  // in the interpreter (emu/interp.h). Any number of bytecode objects can be
  // loaded at once.
  static absl::StatusOr<std::unique_ptr<Object>> OpenBytecode(
      const std::string& path);
  // The same from memory (bpf_object__open_mem, skeletons); `name` is the
  // object name (libbpf's object_name option).
  static absl::StatusOr<std::unique_ptr<Object>> OpenBytecodeMem(
      absl::Span<const uint8_t> data, std::string_view name);
  // The names of every native object linked into this binary.
  static std::vector<std::string> Registered();
  ~Object();
  Object(const Object&) = delete;
  Object& operator=(const Object&) = delete;

  // Creates the maps (in definition order) and registers the programs.
  // 0, or the failing map creation's -errno, or -EBUSY.
  int Load();

  // What libbpf's setters change before bpf_object__load() (libbpf.c
  // bpf_map__set_*, bpf_map__reuse_fd, bpf_map__set_autocreate,
  // bpf_program__set_type / set_expected_attach_type / set_autoload).
  // maps[i] is MapNames()[i], progs[i] ProgramNames()[i].
  struct MapSettings {
    uint32_t type = 0, key_size = 0, value_size = 0, max_entries = 0;
    uint32_t map_flags = 0, numa_node = 0, map_ifindex = 0;
    uint64_t map_extra = 0;
    int inner_map_fd = -1;  // the inner template instead of the definition's
    int reuse_fd = -1;      // an open map used instead of a new one (not
                            // owned: Load() takes a copy)
    bool autocreate = true;
    // A map-in-map's inner template as the definition gives it
    // (`__array(values, ...)`; libbpf's map->inner_map): created, passed as
    // inner_map_fd and closed at load; its type, sizes, max_entries and
    // flags are what is used. Null without one, or once inner_map_fd is
    // set (bpf_map__set_inner_map_fd drops it, as libbpf).
    std::shared_ptr<MapSettings> inner;
  };
  struct ProgSettings {
    uint32_t type = 0, expected_attach_type = 0;
    bool autoload = true;
    // bpf_program__set_flags() / bpf_program__set_ifindex(): checked at
    // load as BPF_PROG_LOAD checks them (ProgFlagsKnown, ProgDevBoundInit).
    uint32_t prog_flags = 0, ifindex = 0;
    // bpf_program__set_insns(): a bytecode program's instructions instead
    // of the object's (the object's map relocations still apply at their
    // indexes, as libbpf relocates prog->insns at load; one past the end
    // is skipped). Ignored unless has_insns; native programs have none.
    bool has_insns = false;
    std::vector<interp::RawInsn> insns;
    // bpf_program__set_attach_target(): the kernel BTF id a tracing
    // program loads for; 0 takes it from the section name as libbpf does
    // (an iterator's SEC("iter/<target>"): bpf_iter_<target>).
    uint32_t attach_btf_id = 0;
  };
  struct LoadSettings {
    std::vector<MapSettings> maps;
    std::vector<ProgSettings> progs;
    // Kconfig text read before the system's for `__kconfig` externs
    // (bpf_object_open_opts.kconfig), or none.
    std::optional<std::string> kconfig;
  };
  // The definitions' own settings, to edit and pass to Load(settings).
  LoadSettings DefaultSettings() const;
  // Load() with `settings` (sizes must match MapNames() / ProgramNames(),
  // else -EINVAL). A map not created has fd -1; a program not loaded is
  // not in programs(). A native object's code reaches its maps directly,
  // so every map of one must be created (-EOPNOTSUPP otherwise).
  int Load(const LoadSettings& settings);
  // Why the last Load() failed before the kernel saw a program, as libbpf
  // warns it (an extern kfunc not found or incompatible, ksym.h); "" when
  // it did not.
  const std::string& load_error() const { return load_error_; }

  const std::string& name() const { return name_; }
  // The object's "version" section (0 without one, and for native objects).
  uint32_t kern_version() const;
  bool bytecode() const { return elf_ != nullptr; }
  std::vector<std::string> MapNames() const;
  // What each map definition says, in MapNames() order. `name` is the
  // kernel map's name (libbpf's bpf_map__name), `real_name` what MapNames()
  // gives (the variable, or a global-data section such as ".bss").
  struct MapDesc {
    std::string name, real_name;
    uint32_t type, key_size, value_size, max_entries, map_flags;
    // The map's .BTF key and value type ids (0: none; native objects have
    // no BTF).
    uint32_t btf_key_type_id = 0, btf_value_type_id = 0;
  };
  std::vector<MapDesc> MapDescs() const;
  // Global data of a bytecode object before Load(): the section's initial
  // bytes, writable (a skeleton sets .rodata this way); nullptr for other
  // maps. `real_name` is the section (".rodata") or the map's name.
  uint8_t* InitialValue(std::string_view real_name, size_t* size);
  // After Load(): the value of a global-data map (the skeleton's mmaped
  // view), or nullptr.
  uint8_t* LoadedValue(std::string_view real_name) const;
  // Program names, known before Load() (programs() fills in at Load()).
  std::vector<std::string> ProgramNames() const;
  // Their SEC() names, in the same order.
  std::vector<std::string> ProgramSections() const;
  // A bytecode object's program `index` as read from the ELF file (before
  // map relocation); nullptr for native objects, which have no bytecode.
  const std::vector<interp::RawInsn>* ProgramInsns(size_t index) const;
  // The map's fd, or -ENOENT.
  int MapFd(std::string_view name) const;
  std::shared_ptr<Map> FindMap(std::string_view name) const;
  const Program* FindProgram(std::string_view name) const;
  // Closes a loaded program's fd (libbpf's bpf_program__unload); the
  // program is then no longer in programs(). False if it was not loaded.
  bool UnloadProgram(std::string_view name);
  const std::vector<Program>& programs() const { return programs_; }
  // A bytecode object's .BTF as it is loaded (ElfObject::btf; empty for
  // native objects), and after Load() the emulated BTF object's fd (libbpf
  // loads it before the maps, which then carry their type ids), or -1.
  const std::vector<uint8_t>& btf_raw() const;
  int btf_fd() const { return btf_fd_; }
  // bpf_map__attach_struct_ops() (libbpf 1.1; 1.2 on for .struct_ops.link)
  // on the map `real_name` of a bytecode object's .struct_ops /
  // .struct_ops.link section: its value in the kernel's layout (the
  // section's data members, copied at Load() as
  // bpf_map__init_kern_struct_ops does), each member's program fd put in,
  // written to element 0 (for a .struct_ops map: the registration); a
  // .struct_ops.link map then gets BPF_LINK_CREATE (BPF_STRUCT_OPS), the
  // write's EBUSY of a map already READY not counting. 0 with *link_fd the
  // new link (-1 for a .struct_ops map), or -errno; -EINVAL when there is
  // no such map or it was not created.
  int AttachStructOps(std::string_view real_name, int* link_fd);

  // A bytecode object's parse (nullptr for a native one), for libbpfemu's
  // loader generator (compat/gen_loader_compat.cc).
  const ElfObject* elf() const { return elf_.get(); }

 private:
  explicit Object(const bpfemu_object_def* def);
  explicit Object(std::unique_ptr<ElfObject> elf);
  void Unload();
  int LoadNative(const LoadSettings& settings);
  int LoadBytecode(const LoadSettings& settings);
  // Fills the `.values` slots of the program arrays (`programs`) or of the
  // map-in-maps: 0 or the failed update's -errno.
  int FillInitSlots(bool programs);
  // An iterator's or fentry / fexit / fmod_ret program's attach_btf_id
  // from its section (object.cc).
  int AttachBtfId(const std::string& section, const ProgSettings& ps,
                  uint32_t* id);
  // bpf_object__create_maps() for an ARENA: the loader maps it (at
  // map_extra when set) so its user range is fixed before any program that
  // uses it loads; 0 or -errno. Unload() unmaps it.
  int MapArena(int fd, uint64_t map_extra, uint32_t max_entries);

  // bpf_map__init_kern_struct_ops() at Load(): each .struct_ops map's
  // value in the kernel's layout (st_ops->kern_vdata) and the offsets its
  // programs' fds go to (kern_func_off), by map index.
  struct StructOpsValue {
    uint32_t value_id = 0;  // struct bpf_struct_ops_X in the kernel BTF
    std::vector<uint8_t> kern_vdata;
    std::vector<std::pair<uint32_t, std::string>> funcs;  // offset, program
  };
  std::vector<std::pair<size_t, StructOpsValue>> st_ops_;
  // Fills st_ops_ and the programs' attach_btf_id / expected_attach_type
  // (`attach`: program name -> kernel struct id, member index); 0 or
  // -errno with load_error_ set.
  int InitKernStructOps(
      std::vector<std::pair<std::string, std::pair<uint32_t, uint32_t>>>*
          attach);

  const bpfemu_object_def* def_ = nullptr;
  std::unique_ptr<ElfObject> elf_;
  std::string name_;
  std::vector<Program> programs_;
  std::vector<std::unique_ptr<internal::BoundMap>> maps_;
  bool loaded_ = false;
  std::string load_error_;
  int btf_fd_ = -1;
  std::vector<std::pair<void*, size_t>> arena_mappings_;
};

}  // namespace bpfemu::native

#endif  // BPFEMU_LOADER_OBJECT_H_
