// SPDX-License-Identifier: Apache-2.0
// File: libbpf_conventions.h
//
// libbpf 1.x's calling conventions, shared by the libbpf-compatible layer:
// a negative result is also stored in errno (libbpf_err), and an opts struct
// is valid when its size is at least sizeof(size_t) and any bytes beyond the
// struct this library knows are zero (OPTS_VALID).

#ifndef BPFEMU_EMU_COMPAT_LIBBPF_CONVENTIONS_H_
#define BPFEMU_EMU_COMPAT_LIBBPF_CONVENTIONS_H_

#include <cerrno>
#include <cstddef>
#include <type_traits>

namespace bpfemu::compat {

inline int LibbpfErr(int ret) {
  if (ret < 0) errno = -ret;
  return ret;
}

template <typename Opts>
bool OptsValid(const Opts* opts) {
  if (opts == nullptr) return true;
  if (opts->sz < sizeof(size_t)) return false;
  const auto* bytes = reinterpret_cast<const unsigned char*>(opts);
  for (size_t i = sizeof(Opts); i < opts->sz; ++i) {
    if (bytes[i] != 0) return false;
  }
  return true;
}

// OPTS_GET(): `field` of a caller's struct that may be older (shorter).
#define BPFEMU_OPTS_GET(opts, field, fallback)                          \
  ((opts) != nullptr &&                                                 \
           (opts)->sz >=                                                \
               offsetof(std::remove_pointer_t<decltype(opts)>, field) + \
                   sizeof((opts)->field)                                \
       ? (opts)->field                                                  \
       : (fallback))

}  // namespace bpfemu::compat

#endif  // BPFEMU_EMU_COMPAT_LIBBPF_CONVENTIONS_H_
