// SPDX-License-Identifier: Apache-2.0
// File: btf_fields.h
//
// Walks over the fields of BTF records that the libbpf-compatible layer
// rewrites: the type ids and string offsets of one struct btf_type
// (tools/lib/bpf/btf_iter.c btf_field_iter, BTF_FIELD_ITER_IDS / _STRS),
// and the per-section records of a .BTF.ext blob (tools/lib/bpf/btf.c
// btf_ext_parse_info, struct btf_ext_header of include/uapi/linux/btf.h's
// companion in tools/lib/bpf/libbpf_internal.h). Used by btf_compat.cc
// (btf__add_type, btf__dedup) and linker_compat.cc (the static linker).

#ifndef BPFEMU_COMPAT_BTF_FIELDS_H_
#define BPFEMU_COMPAT_BTF_FIELDS_H_

#include <linux/btf.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "loader/btf.h"

namespace bpfemu::compat {

using native::BtfKind;
using native::BtfVlen;

// The type ids a record refers to (struct btf_type's type, members,
// params, array ids, datasec vars), for remapping.
template <typename F>
void ForEachTypeId(btf_type* t, F f) {
  switch (BtfKind(t)) {
    case BTF_KIND_PTR:
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_CONST:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_FUNC:
    case BTF_KIND_VAR:
    case BTF_KIND_DECL_TAG:
    case BTF_KIND_TYPE_TAG:
    case BTF_KIND_FUNC_PROTO:
      f(&t->type);
      break;
  }
  auto* extra = reinterpret_cast<uint8_t*>(t + 1);
  switch (BtfKind(t)) {
    case BTF_KIND_ARRAY: {
      auto* a = reinterpret_cast<struct btf_array*>(extra);
      f(&a->type);
      f(&a->index_type);
      break;
    }
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION: {
      auto* m = reinterpret_cast<btf_member*>(extra);
      for (uint16_t i = 0; i < BtfVlen(t); ++i) f(&m[i].type);
      break;
    }
    case BTF_KIND_FUNC_PROTO: {
      auto* p = reinterpret_cast<btf_param*>(extra);
      for (uint16_t i = 0; i < BtfVlen(t); ++i) f(&p[i].type);
      break;
    }
    case BTF_KIND_DATASEC: {
      auto* v = reinterpret_cast<btf_var_secinfo*>(extra);
      for (uint16_t i = 0; i < BtfVlen(t); ++i) f(&v[i].type);
      break;
    }
  }
}

// The string offsets a record holds (its name, member / value / param
// names).
template <typename F>
void ForEachStrOff(btf_type* t, F f) {
  f(&t->name_off);
  auto* extra = reinterpret_cast<uint8_t*>(t + 1);
  switch (BtfKind(t)) {
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION: {
      auto* m = reinterpret_cast<btf_member*>(extra);
      for (uint16_t i = 0; i < BtfVlen(t); ++i) f(&m[i].name_off);
      break;
    }
    case BTF_KIND_ENUM: {
      auto* e = reinterpret_cast<struct btf_enum*>(extra);
      for (uint16_t i = 0; i < BtfVlen(t); ++i) f(&e[i].name_off);
      break;
    }
    case BTF_KIND_ENUM64: {
      auto* e = reinterpret_cast<struct btf_enum64*>(extra);
      for (uint16_t i = 0; i < BtfVlen(t); ++i) f(&e[i].name_off);
      break;
    }
    case BTF_KIND_FUNC_PROTO: {
      auto* p = reinterpret_cast<btf_param*>(extra);
      for (uint16_t i = 0; i < BtfVlen(t); ++i) f(&p[i].name_off);
      break;
    }
  }
}

// One kind of .BTF.ext information: func_info, line_info or core_relo.
enum class BtfExtInfo { kFunc = 0, kLine = 1, kCoreRelo = 2 };

// The part of a .BTF.ext blob holding one kind of records: its offset and
// length (after the header) and its record size, or false when the blob's
// header, the part's bounds or the record size are malformed (libbpf:
// -EINVAL). A part the header does not have (core_relo in a 24-byte
// header) is present and empty.
inline bool BtfExtPart(const uint8_t* data, size_t size, BtfExtInfo kind,
                       size_t* begin, size_t* end, uint32_t* rec_size) {
  uint32_t hdr_len = 0;
  if (size < 24) return false;
  std::memcpy(&hdr_len, data + 4, 4);
  if (hdr_len < 24 || hdr_len > size) return false;
  const size_t field = 8 + 8 * static_cast<size_t>(kind);
  *begin = *end = hdr_len;
  *rec_size = 0;
  if (field + 8 > hdr_len) return true;
  uint32_t off = 0, len = 0;
  std::memcpy(&off, data + field, 4);
  std::memcpy(&len, data + field + 4, 4);
  if (len == 0) return true;
  if (static_cast<uint64_t>(hdr_len) + off + len > size || len < 4) {
    return false;
  }
  *begin = hdr_len + off;
  *end = *begin + len;
  std::memcpy(rec_size, data + *begin, 4);
  static constexpr uint32_t kMinRec[] = {8, 16, 16};
  return *rec_size >= kMinRec[static_cast<int>(kind)] && *rec_size % 4 == 0;
}

// Calls f(&sec_name_off, first record, record count, record size) for
// every section of one kind of records, in order; false when the blob is
// malformed.
template <typename F>
bool ForEachBtfExtSec(uint8_t* data, size_t size, BtfExtInfo kind, F f) {
  size_t pos = 0, end = 0;
  uint32_t rec_size = 0;
  if (!BtfExtPart(data, size, kind, &pos, &end, &rec_size)) return false;
  if (pos == end) return true;
  pos += 4;
  while (pos < end) {
    if (end - pos < 8) return false;
    uint32_t num = 0;
    std::memcpy(&num, data + pos + 4, 4);
    if (num == 0 || static_cast<uint64_t>(num) * rec_size > end - pos - 8) {
      return false;
    }
    f(reinterpret_cast<uint32_t*>(data + pos), data + pos + 8, num, rec_size);
    pos += 8 + static_cast<size_t>(num) * rec_size;
  }
  return true;
}

// Calls f(sec_name_off, record pointer, record size) for every record of
// one kind, in order; false when the blob is malformed.
template <typename F>
bool ForEachBtfExtRecord(uint8_t* data, size_t size, BtfExtInfo kind, F f) {
  return ForEachBtfExtSec(
      data, size, kind,
      [&](uint32_t* name_off, uint8_t* rec, uint32_t num, uint32_t rec_size) {
        for (uint32_t i = 0; i < num; ++i)
          f(*name_off, rec + i * rec_size, rec_size);
      });
}

// The type id fields of a func_info (insn_off, type_id) or core_relo
// (insn_off, type_id, access_str_off, kind) record: the second word; line
// info records have none.
inline uint32_t* BtfExtRecordTypeId(uint8_t* rec) {
  return reinterpret_cast<uint32_t*>(rec + 4);
}

}  // namespace bpfemu::compat

#endif  // BPFEMU_COMPAT_BTF_FIELDS_H_
