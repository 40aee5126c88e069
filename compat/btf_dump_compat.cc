// SPDX-License-Identifier: Apache-2.0
// libbpf's btf_dump__* API (tools/lib/bpf/btf_dump.c, libbpf 1.1.2) over
// the printer in loader/btf_dump.h: the options are checked here as
// libbpf's OPTS_VALID checks them, errors become libbpf's return
// conventions, and the printer's warnings go to libbpf_set_print()'s
// callback. //compat:btf_dump_diff_test compares the output with libbpf's.

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/btf.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <new>

#include "compat/libbpf_conventions.h"
#include "compat/libbpf_internal.h"
#include "loader/btf_dump.h"

using bpfemu::compat::LibbpfErr;
using bpfemu::compat::OptsValid;
using bpfemu::compat::Print;
using bpfemu::native::BtfDump;

struct btf_dump {
  std::unique_ptr<BtfDump> dump;
  btf_dump_printf_fn_t printf_fn = nullptr;
  void* ctx = nullptr;
};

namespace {

void PrintThrough(void* ctx, const char* fmt, va_list args) {
  auto* d = static_cast<struct btf_dump*>(ctx);
  d->printf_fn(d->ctx, fmt, args);
}

void WarnThrough(void*, const char* msg) { Print(LIBBPF_WARN, "%s", msg); }

// OPTS_VALID with libbpf's warnings (libbpf_validate_opts).
template <typename Opts>
bool ValidOpts(const Opts* opts, const char* name) {
  if (opts != nullptr && opts->sz < sizeof(size_t)) {
    Print(LIBBPF_WARN, "libbpf: %s size (%zu) is too small\n", name, opts->sz);
    return false;
  }
  if (!OptsValid(opts)) {
    Print(LIBBPF_WARN, "libbpf: %s has non-zero extra bytes\n", name);
    return false;
  }
  return true;
}

}  // namespace

extern "C" {

struct btf_dump* btf_dump__new(const struct btf* btf,
                               btf_dump_printf_fn_t printf_fn, void* ctx,
                               const struct btf_dump_opts* opts) {
  if (!ValidOpts(opts, "btf_dump_opts") || printf_fn == nullptr) {
    errno = EINVAL;
    return nullptr;
  }
  auto* d = new (std::nothrow) struct btf_dump;
  if (d == nullptr) {
    errno = ENOMEM;
    return nullptr;
  }
  d->printf_fn = printf_fn;
  d->ctx = ctx;
  const int err = BtfDump::Create(bpfemu::compat::BtfDataOf(btf), PrintThrough,
                                  WarnThrough, d, &d->dump);
  if (err != 0) {
    delete d;
    errno = -err;
    return nullptr;
  }
  return d;
}

void btf_dump__free(struct btf_dump* d) {
  if (d == nullptr || reinterpret_cast<uintptr_t>(d) >= -4095UL) return;
  delete d;
}

int btf_dump__dump_type(struct btf_dump* d, __u32 id) {
  return LibbpfErr(d->dump->DumpType(id));
}

int btf_dump__emit_type_decl(struct btf_dump* d, __u32 id,
                             const struct btf_dump_emit_type_decl_opts* opts) {
  if (!ValidOpts(opts, "btf_dump_emit_type_decl_opts")) {
    return LibbpfErr(-EINVAL);
  }
  return LibbpfErr(
      d->dump->EmitTypeDecl(id, BPFEMU_OPTS_GET(opts, field_name, nullptr),
                            BPFEMU_OPTS_GET(opts, indent_level, 0),
                            BPFEMU_OPTS_GET(opts, strip_mods, false)));
}

int btf_dump__dump_type_data(struct btf_dump* d, __u32 id, const void* data,
                             size_t data_sz,
                             const struct btf_dump_type_data_opts* opts) {
  if (!ValidOpts(opts, "btf_dump_type_data_opts")) return LibbpfErr(-EINVAL);
  BtfDump::DataOpts o;
  o.indent_level = BPFEMU_OPTS_GET(opts, indent_level, 0);
  o.indent_str = BPFEMU_OPTS_GET(opts, indent_str, nullptr);
  o.compact = BPFEMU_OPTS_GET(opts, compact, false);
  o.skip_names = BPFEMU_OPTS_GET(opts, skip_names, false);
  o.emit_zeroes = BPFEMU_OPTS_GET(opts, emit_zeroes, false);
  return LibbpfErr(d->dump->DumpTypeData(id, data, data_sz, o));
}

}  // extern "C"
