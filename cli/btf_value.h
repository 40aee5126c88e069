// SPDX-License-Identifier: Apache-2.0
// File: btf_value.h
//
// Map keys and values printed through their BTF as bpftool 7.1 prints them
// (tools/bpf/bpftool/btf_dumper.c btf_dumper_type, map.c do_dump_btf), and
// bpftool's JSON writer (tools/bpf/bpftool/json_writer.c) whose pretty mode
// both `-p` and the plain-text BTF dumps use.

#ifndef BPFEMU_CLI_BTF_VALUE_H_
#define BPFEMU_CLI_BTF_VALUE_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "loader/btf.h"

namespace bpfemu::cli {

// json_writer.c's output rules: a separator before every element after the
// first; in pretty mode a line break and four spaces per level before each
// name and before a closing bracket that has contents, and ": " after a
// name. Appends to `out`.
class JsonWriter {
 public:
  JsonWriter(std::string* out, bool pretty) : out_(out), pretty_(pretty) {}
  void StartObject() { Begin('{'); }
  void EndObject() { End('}'); }
  void StartArray() { Begin('['); }
  void EndArray() { End(']'); }
  void Name(const std::string& name);
  // A name already quoted and escaped (PrettyJson's replay).
  void QuotedName(const std::string& token);
  // A value printed as is (numbers, booleans, bpftool's bare words).
  void Raw(const std::string& text);
  // A JSON string with jsonw_puts()'s escapes.
  void String(const std::string& s);
  void IntField(const char* name, long long v);

 private:
  void Separator();
  void LineBreak();
  void Begin(char c);
  void End(char c);
  std::string* out_;
  bool pretty_;
  unsigned depth_ = 0;
  bool sep_ = false;
};

// Rewrites compact JSON, as bpftool's -j prints it, the way bpftool -p
// prints the same document; text outside JSON values (line breaks between
// documents) is kept.
std::string PrettyJson(const std::string& compact);

// One map element through BTF (do_dump_btf): {"key": ..., "value": ...},
// or "values": [{"cpu": N, "value": ...}] for per-CPU maps (`ncpus` values
// `stride` bytes apart). `plain` is bpftool's is_plain_text (pointers and
// wide integers as bare hex). A BTF that does not describe the sizes given
// (a map file another user crafted) prints nothing and returns false.
struct BtfElem {
  const native::BtfData* btf;
  uint32_t key_type_id, value_type_id;
  size_t key_size, value_size;
};
bool BtfElemFits(const BtfElem& e);
void DumpBtfElem(JsonWriter& w, const BtfElem& e, const uint8_t* key,
                 const uint8_t* value, bool percpu, int ncpus, size_t stride,
                 bool plain);

}  // namespace bpfemu::cli

#endif  // BPFEMU_CLI_BTF_VALUE_H_
