// SPDX-License-Identifier: Apache-2.0
// The two faces of one BPF source agree on its maps and programs: the
// native build (whose wrapper loader/gen_native wrote from the .bpf.o) and
// the bytecode object (the loader reading the same .bpf.o at run time), for
// every way of writing a definition (testdata/map_forms.bpf.c). Both read
// the object with one reader (elf_object.h), so they cannot drift apart.

#include <linux/bpf.h>

#include <memory>
#include <string>
#include <vector>

#include "emu/map.h"
#include "gtest/gtest.h"
#include "loader/elf_object.h"
#include "loader/object.h"

namespace bpfemu::native {
namespace {

struct Attrs {
  uint32_t type, key_size, value_size, max_entries, map_flags;
  int32_t spin_lock_off;
  uint32_t inner_type, inner_key_size, inner_value_size, inner_max_entries;
  bool operator==(const Attrs&) const = default;
};

Attrs AttrsOf(const Map& m) {
  const MapHeader& h = m.header();
  return {m.type(),           m.key_size(),     m.value_size(),
          m.max_entries(),    m.map_flags(),    h.spin_lock_off,
          h.inner.map_type,   h.inner.key_size, h.inner.value_size,
          h.inner.max_entries};
}

TEST(GenNative, NativeAndBytecodeFacesCreateTheSameMaps) {
  auto native = Object::Open("map_forms");
  ASSERT_TRUE(native.ok()) << native.status();
  auto bytecode = Object::OpenBytecode("loader/map_forms.bpf.o");
  ASSERT_TRUE(bytecode.ok()) << bytecode.status();
  ASSERT_EQ((*native)->Load(), 0);
  ASSERT_EQ((*bytecode)->Load(), 0);
  const std::vector<std::string> want = {"typed", "sized", "with_lock", "outer",
                                         "ring"};
  // The same maps, in the definitions' order (libbpf's).
  std::vector<std::string> native_maps;
  for (const std::string& name : (*native)->MapNames()) {
    if (name.find('.') == std::string::npos) native_maps.push_back(name);
  }
  EXPECT_EQ(native_maps, want);
  for (const std::string& name : want) {
    SCOPED_TRACE(name);
    auto n = (*native)->FindMap(name);
    auto b = (*bytecode)->FindMap(name);
    ASSERT_NE(n, nullptr);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(AttrsOf(*n), AttrsOf(*b));
  }
  EXPECT_EQ((*native)->FindMap("with_lock")->header().spin_lock_off, 8);
  EXPECT_EQ((*native)->FindMap("outer")->header().inner.max_entries, 3u);
  for (const char* prog : {"pass", "count"}) {
    ASSERT_NE((*native)->FindProgram(prog), nullptr) << prog;
    ASSERT_NE((*bytecode)->FindProgram(prog), nullptr) << prog;
    EXPECT_EQ((*native)->FindProgram(prog)->type(),
              (*bytecode)->FindProgram(prog)->type());
  }
}

// The outline the generator reads: definitions with their field names, the
// lock member's name, the inner template's fields; programs without
// instructions.
TEST(GenNative, OutlineRecordsHowEachDefinitionIsWritten) {
  auto native = Object::Open("map_forms");  // keeps the .bpf.o path honest
  ASSERT_TRUE(native.ok());
  FILE* f = fopen("loader/map_forms.bpf.o", "rb");
  ASSERT_NE(f, nullptr);
  std::vector<uint8_t> data;
  for (int c; (c = fgetc(f)) != EOF;) data.push_back(static_cast<uint8_t>(c));
  fclose(f);
  auto obj = ParseElfObjectOutline(data, "map_forms");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ(obj->maps.size(), 5u);
  EXPECT_EQ(obj->maps[0].def_fields,
            (std::vector<std::string>{"type", "max_entries", "key", "value",
                                      "map_flags"}));
  EXPECT_EQ(obj->maps[1].def_fields,
            (std::vector<std::string>{"type", "max_entries", "key_size",
                                      "value_size"}));
  EXPECT_EQ(obj->maps[2].spin_lock_member, "lock");
  EXPECT_TRUE(obj->maps[3].has_inner_def);
  EXPECT_EQ(obj->maps[3].inner_def_fields,
            (std::vector<std::string>{"type", "max_entries", "key", "value"}));
  ASSERT_EQ(obj->programs.size(), 2u);
  EXPECT_TRUE(obj->programs[0].insns.empty());
  EXPECT_EQ(obj->license, "GPL");
}

}  // namespace
}  // namespace bpfemu::native
