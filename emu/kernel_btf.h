// SPDX-License-Identifier: Apache-2.0
// File: kernel_btf.h
//
// The emulated kernel's own BTF (vmlinux BTF): the type namespace that BTF
// ids from outside a program's object refer to. A kfunc call's imm
// (BPF_PSEUDO_KFUNC_CALL with off 0), a STRUCT_OPS map's
// btf_vmlinux_value_type_id and a tracing program's attach_btf_id are ids
// in it. Mirrors the part of kernel/bpf/btf.c that serves vmlinux BTF
// (btf_parse_vmlinux, bpf_get_btf_vmlinux, btf_type_by_id,
// btf_find_by_name_kind, btf_type_skip_modifiers, btf_type_id_size).
//
// The ids must be those a loader resolves: libbpf (real, or libbpfemu)
// reads /sys/kernel/btf/vmlinux and writes the ids it finds there into the
// program and the map attributes. So the emulated kernel's BTF is that same
// file, read once per process; BPFEMU_VMLINUX_BTF names another file
// instead (tests, and machines whose kernel has no BTF). Without a readable,
// well-formed file there is no kernel BTF, as on a kernel built without
// CONFIG_DEBUG_INFO_BTF: whatever needs it fails as the kernel then fails.
//
// The file is checked as a hostile input would be (header, section bounds,
// each type's trailing data, name offsets); unlike btf_parse_vmlinux, the
// types' references are not resolved up front: every accessor bounds-checks
// the ids it follows.

#ifndef BPFEMU_EMU_KERNEL_BTF_H_
#define BPFEMU_EMU_KERNEL_BTF_H_

#include <linux/btf.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace bpfemu {

class KernelBtf {
 public:
  // The process's kernel BTF (see above), or nullptr.
  static const KernelBtf* Get();
  // Parses a raw BTF blob (header first, no base): nullptr if malformed.
  static std::unique_ptr<KernelBtf> Parse(std::vector<uint8_t> raw);

  // Ids are 1 .. TypeCount() - 1 (0 is void).
  uint32_t TypeCount() const { return static_cast<uint32_t>(offs_.size()); }
  // The type `id`, or nullptr for 0 and ids out of range.
  const btf_type* Type(uint32_t id) const;
  // BTF_INFO_KIND of `id`; 0 (BTF_KIND_UNKN) for void or a bad id.
  uint32_t Kind(uint32_t id) const;
  // The name of `id` ("" for anonymous types, void and bad ids).
  std::string_view Name(uint32_t id) const;
  // A string of the string section by offset ("" when out of range).
  std::string_view Str(uint32_t off) const;
  // btf_find_by_name_kind(): the lowest id of that name and kind, or
  // -ENOENT.
  int32_t FindByNameKind(std::string_view name, uint32_t kind) const;
  // btf_type_skip_modifiers(): follows typedef, volatile, const, restrict
  // and type tags to the first other type; 0 for void or a broken chain.
  uint32_t SkipModifiers(uint32_t id) const;
  // btf_type_id_size(): the byte size of an int, enum, struct, union,
  // pointer (8) or array after modifiers; -EINVAL for other kinds and
  // broken ids.
  int64_t Size(uint32_t id) const;
  // The members of a struct or union (empty for other kinds).
  const btf_member* Members(uint32_t id, uint16_t* count) const;
  // The parameters of a FUNC_PROTO (empty for other kinds).
  const btf_param* Params(uint32_t id, uint16_t* count) const;
  // Where member `name` of struct or union `id` is, looking into anonymous
  // struct and union members as C does (btf_find_struct_field's walk, and
  // what CO-RE field relocations resolve): its byte offset and size, or
  // {-1, 0} if absent, a bitfield or not byte-aligned.
  struct Field {
    int64_t offset = -1;
    uint32_t size = 0;
    uint32_t type = 0;  // the member's type id
  };
  Field FindMember(uint32_t id, std::string_view name) const;

  ~KernelBtf();

 private:
  struct NameIndex;
  KernelBtf();
  std::vector<uint8_t> raw_;
  const uint8_t* types_ = nullptr;
  const char* strs_ = nullptr;
  uint32_t str_len_ = 0;
  std::vector<uint32_t> offs_;  // offs_[id]: offset in the type section
  std::unique_ptr<NameIndex> index_;
};

// struct btf_func_model (include/linux/bpf.h): how a function's arguments
// and return value are passed, as a trampoline or a kfunc call needs it.
struct BtfFuncModel {
  static constexpr uint32_t kMaxArgs = 12;        // MAX_BPF_FUNC_ARGS
  static constexpr uint8_t kStructArg = 1u << 0;  // BTF_FMODEL_STRUCT_ARG
  static constexpr uint8_t kSignedArg = 1u << 1;  // BTF_FMODEL_SIGNED_ARG
  uint8_t ret_size = 0;
  uint8_t ret_flags = 0;
  uint8_t nr_args = 0;
  uint8_t arg_size[kMaxArgs] = {};
  uint8_t arg_flags[kMaxArgs] = {};
};

// kernel/bpf/btf.c btf_distill_func_proto() for the FUNC_PROTO `proto` of
// the function `name`, checked in the kernel's order: more than 12
// parameters; a return type other than void, an int, an enum or a pointer
// (a struct too: __get_type_size, __btf_type_is_struct); then each
// parameter: a variadic last one, a type of no size (float,
// union, array, ...) or of more than 16 bytes (a struct by value), a
// zero-sized one. 0 with *m filled, or -EINVAL with the verifier's line
// appended to *log (when not nullptr). A struct of 9 to 16 bytes passes
// with its size and BTF_FMODEL_STRUCT_ARG; signed ints get
// BTF_FMODEL_SIGNED_ARG.
int DistillFuncProto(const KernelBtf& btf, uint32_t proto,
                     std::string_view name, BtfFuncModel* m, std::string* log);

}  // namespace bpfemu

#endif  // BPFEMU_EMU_KERNEL_BTF_H_
