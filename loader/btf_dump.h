// SPDX-License-Identifier: Apache-2.0
// File: btf_dump.h
//
// BTF printed as C (tools/lib/bpf/btf_dump.c, libbpf 1.1.2): the type
// definitions a type needs, in an order a C compiler accepts
// (btf_dump__dump_type), one declaration (btf_dump__emit_type_decl) and a
// value as a C initializer (btf_dump__dump_type_data). One copy of the
// logic for libbpfemu's btf_dump__* (compat/btf_dump_compat.cc) and
// `bpfemu btf dump file F format c` (cli/cli.cc).

#ifndef BPFEMU_LOADER_BTF_DUMP_H_
#define BPFEMU_LOADER_BTF_DUMP_H_

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "loader/btf.h"

namespace bpfemu::native {

class BtfDump {
 public:
  // Where the C text goes (libbpf's btf_dump_printf_fn_t).
  using PrintFn = void (*)(void* ctx, const char* fmt, va_list args);
  // libbpf's warnings ("libbpf: ...\n", pr_warn), or nullptr to drop them.
  using WarnFn = void (*)(void* ctx, const char* msg);

  // Which libbpf's output to reproduce: the libbpf 1.1.2 release
  // (libbpfemu's btf_dump__*, compared with the system libbpf), or the
  // libbpf of the Linux 6.1 tree (tools/lib/bpf), which bpftool 7.1 is
  // built with: it prints `(void)` for a prototype without parameters
  // where 1.1.2 prints `()`, and no __attribute__((mode(byte|word))) on
  // 1- and 8-byte enums.
  enum class Dialect { kLibbpf112, kLinux61 };

  // A printer over `btf` (which must outlive it; types added to it later
  // are seen). 0, or -EINVAL for a type of unknown kind, a reference to a
  // type id past the last, or a member, parameter or enumerator name
  // outside the strings.
  static int Create(const BtfData* btf, PrintFn print, WarnFn warn, void* ctx,
                    std::unique_ptr<BtfDump>* out,
                    Dialect dialect = Dialect::kLibbpf112);
  ~BtfDump();
  BtfDump(const BtfDump&) = delete;
  BtfDump& operator=(const BtfDump&) = delete;

  // btf_dump__dump_type(): `id` and what it needs that this printer has
  // not printed yet. 0, -EINVAL (no such id) or -ELOOP.
  int DumpType(uint32_t id);
  // btf_dump__emit_type_decl(): `id` declared as `field_name` ("" or
  // nullptr: abstract).
  int EmitTypeDecl(uint32_t id, const char* field_name, int indent_level,
                   bool strip_mods);
  // btf_dump__dump_type_data(): the bytes read as a value of `id`. The
  // bytes taken, or -errno (-ENOENT no such type, -E2BIG data too short).
  struct DataOpts {
    int indent_level = 0;
    const char* indent_str = nullptr;  // nullptr: a tab
    bool compact = false, skip_names = false, emit_zeroes = false;
  };
  int DumpTypeData(uint32_t id, const void* data, size_t data_sz,
                   const DataOpts& opts);

  struct Impl;

 private:
  BtfDump();
  std::unique_ptr<Impl> impl_;
};

}  // namespace bpfemu::native

#endif  // BPFEMU_LOADER_BTF_DUMP_H_
