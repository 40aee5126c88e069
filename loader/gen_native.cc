// SPDX-License-Identifier: Apache-2.0
// gen_native: emits the native build wrapper of one BPF source (the
// bpf_object() rule, loader/defs.bzl).
//
// Reads the same source's `clang -target bpf` object with the loader's own
// reader (ParseElfObjectOutline, loader/elf_object.h): which globals exist,
// which are maps (the ".maps" definitions, with the fields each one
// writes) and which functions are programs, with their SEC() names. Writes
// a C file that includes the source with every global renamed into a
// per-object namespace (so several objects link into one binary) and
// registers tables whose attributes the host compiler derives again from
// the definitions (sizeof over libbpf's type encodings), so that the native
// build uses the host's layouts of the very types the object declared.
//
// Usage: gen_native --object X.bpf.o --source path/X.bpf.c --name X

#include <cstdio>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "loader/elf_object.h"

namespace {

using bpfemu::native::ElfMap;
using bpfemu::native::ElfObject;

// Concatenates strings, string views and integers.
template <typename... Parts>
std::string Cat(const Parts&... parts) {
  std::string out;
  auto add = [&](const auto& p) {
    if constexpr (std::is_integral_v<std::decay_t<decltype(p)>>) {
      out += std::to_string(p);
    } else {
      out += std::string_view(p);
    }
  };
  (add(parts), ...);
  return out;
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

bool Has(const std::vector<std::string>& fields, std::string_view name) {
  for (const std::string& f : fields) {
    if (f == name) return true;
  }
  return false;
}

// The expression for attribute `name` of the definition `def` (an lvalue
// expression), or for its `size_field` alternative, or "0".
std::string Attr(std::string_view def, const std::vector<std::string>& fields,
                 std::string_view name, std::string_view size_field = {}) {
  if (Has(fields, name)) {
    if (name == "key" || name == "value") {
      return Cat("sizeof(*", def, ".", name, ")");
    }
    return Cat("BPFEMU_UINT(", def, ".", name, ")");
  }
  if (!size_field.empty() && Has(fields, size_field)) {
    return Cat("BPFEMU_UINT(", def, ".", size_field, ")");
  }
  return "0";
}

std::string MapRow(const ElfMap& m) {
  const std::vector<std::string>& f = m.def_fields;
  const std::string& n = m.real_name;
  std::string value_size = Attr(n, f, "value", "value_size");
  if (Has(f, "values")) value_size = "4";  // ids or fds, 4 bytes
  const std::string lock = m.spin_lock_member.empty()
                               ? "-1"
                               : Cat("(__s32)__builtin_offsetof(typeof(*", n,
                                     ".value), ", m.spin_lock_member, ")");
  const std::string timer = m.timer_member.empty()
                                ? "-1"
                                : Cat("(__s32)__builtin_offsetof(typeof(*", n,
                                      ".value), ", m.timer_member, ")");
  const std::string wq = m.wq_member.empty()
                             ? "0"
                             : Cat("(__s32)__builtin_offsetof(typeof(*", n,
                                   ".value), ", m.wq_member, ") + 1");
  const std::string tw = m.task_work_member.empty()
                             ? "0"
                             : Cat("(__s32)__builtin_offsetof(typeof(*", n,
                                   ".value), ", m.task_work_member, ") + 1");
  std::vector<std::string> kptr_offs;
  uint32_t kptr_percpu = 0;
  for (size_t i = 0; i < m.kptr_members.size(); ++i) {
    kptr_offs.push_back(Cat("(__s32)__builtin_offsetof(typeof(*", n,
                            ".value), ", m.kptr_members[i], ")"));
    if (m.kptr_percpu[i]) kptr_percpu |= 1u << i;
  }
  const std::string kptrs =
      Cat(m.kptr_members.size(), ", {",
          kptr_offs.empty() ? "0" : Join(kptr_offs, ", "), "}, ", kptr_percpu);
  std::string inner = "0, 0, 0, 0, 0";
  if (m.has_inner_def) {
    const std::string t = Cat("(*", n, ".values[0])");
    const std::vector<std::string>& fi = m.inner_def_fields;
    inner = Join({Attr(t, fi, "type"), Attr(t, fi, "key", "key_size"),
                  Attr(t, fi, "value", "value_size"),
                  Attr(t, fi, "max_entries"), Attr(t, fi, "map_flags")},
                 ", ");
  }
  return Cat("  {\"", n, "\", &", n, ", ", Attr(n, f, "type"), ", ",
             Attr(n, f, "key", "key_size"), ", ", value_size, ", ",
             Attr(n, f, "max_entries"), ", ", Attr(n, f, "map_flags"), ", ",
             Attr(n, f, "numa_node"), ", ", Attr(n, f, "pinning"), ", ", lock,
             ", ", inner, ", ", timer, ", ", kptrs, ", ", wq, ", ", tw, "},");
}

std::string Generate(const ElfObject& obj, std::string_view object_file,
                     std::string_view source, std::string_view name) {
  std::vector<std::string> out;
  auto w = [&](std::string line) { out.push_back(std::move(line)); };
  const std::string prefix = Cat("bpfemu_", name, "__");
  w(Cat("/* Generated by loader/gen_native from ", object_file,
        ": do not edit. */"));
  w("#include <linux/types.h>");
  w("#include <linux/bpf.h>");
  w("#include <bpf/bpf_helpers.h>");
  w("#include \"bpfemu/native_abi.h\"");
  w("");
  w("/* The source's globals, renamed into this object's namespace. */");
  const std::set<std::string> globals(obj.globals.begin(), obj.globals.end());
  for (const std::string& g : globals) {
    w(Cat("#define ", g, " ", prefix, g));
  }
  for (const auto& k : obj.kconfig) {
    if (!globals.count(k.name)) w(Cat("#define ", k.name, " ", prefix, k.name));
  }
  w(Cat("#include \"", source, "\""));
  w("");
  if (!obj.kconfig.empty()) {
    // The __kconfig externs get writable storage here, which Object::Load
    // fills. It is defined in assembly: a C definition would let the
    // compiler fold a `const` extern's reads to its zero initializer.
    w("/* The __kconfig externs' storage, filled at load. */");
    for (const auto& k : obj.kconfig) {
      const std::string sym = Cat(prefix, k.name);
      w(Cat("__asm__(\".pushsection .bss.", sym, ",\\\"aw\\\",@nobits\\n\"",
            " \".balign ", k.align == 0 ? 1 : k.align, "\\n\"", " \".globl ",
            sym, "\\n\"", " \".type ", sym, ", @object\\n\"", " \".size ", sym,
            ", ", k.size, "\\n\"", " \"", sym, ":\\n\"", " \".zero ",
            k.size == 0 ? 1 : k.size, "\\n\"", " \".popsection\");"));
    }
    w("static const struct bpfemu_kconfig_def bpfemu_kconfig[] = {");
    for (const auto& k : obj.kconfig) {
      w(Cat("  {\"", k.name, "\", (void *)&", k.name, ", ",
            static_cast<int>(k.kind), ", ", k.size, ", ", k.align, ", ",
            k.is_signed ? 1 : 0, ", ", k.weak ? 1 : 0, "},"));
    }
    w("};");
    w("");
  }
  w("#define BPFEMU_UINT(f) ((__u32)(sizeof(*(f)) / sizeof((*(f))[0])))");
  w("");
  w("static const struct bpfemu_map_def bpfemu_maps[] = {");
  size_t n_maps = 0;
  for (const ElfMap& m : obj.maps) {
    if (m.internal) continue;  // global data: the native build has its own
    w(MapRow(m));
    ++n_maps;
  }
  if (n_maps == 0) w("  {0},");
  w("};");
  w("");
  w("static const struct bpfemu_prog_def bpfemu_progs[] = {");
  for (const auto& p : obj.programs) {
    w(Cat("  {\"", p.name, "\", \"", p.section, "\", (int (*)(void *))", p.name,
          "},"));
  }
  if (obj.programs.empty()) w("  {0},");
  w("};");
  w("");
  w("static const struct bpfemu_object_def bpfemu_object = {");
  w(Cat("  \"", name, "\", bpfemu_maps, ", n_maps, ", bpfemu_progs, ",
        obj.programs.size(), ", ",
        globals.count("LICENSE") ? "LICENSE" : "\"\"", ", ",
        obj.kconfig.empty() ? "0" : "bpfemu_kconfig", ", ", obj.kconfig.size(),
        ","));
  w("};");
  w("");
  w("__attribute__((constructor)) static void bpfemu_register(void) {");
  w("  bpfemu_register_object(&bpfemu_object);");
  w("}");
  return Join(out, "\n") + "\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::string object, source, name;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--object") {
      object = argv[i + 1];
    } else if (flag == "--source") {
      source = argv[i + 1];
    } else if (flag == "--name") {
      name = argv[i + 1];
    } else {
      std::fprintf(stderr, "gen_native: unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  if (object.empty() || source.empty() || name.empty()) {
    std::fprintf(stderr,
                 "usage: gen_native --object X.bpf.o --source X.bpf.c "
                 "--name X\n");
    return 2;
  }
  std::ifstream in(object, std::ios::binary);
  const std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    std::fprintf(stderr, "gen_native: cannot read %s\n", object.c_str());
    return 1;
  }
  // An empty object: bpf_object() found no compiler able to build the
  // source (its bpf_compiler, e.g. clang-19, is absent), so there is no
  // native object either; tests that need it skip (loader/defs.bzl).
  if (data.empty()) {
    std::printf(
        "/* %s: not built (its BPF compiler is absent); no native object "
        "%s. */\n",
        object.c_str(), name.c_str());
    return 0;
  }
  auto obj = bpfemu::native::ParseElfObjectOutline(data, name);
  if (!obj.ok()) {
    std::fprintf(stderr, "gen_native: %s: %s\n", object.c_str(),
                 std::string(obj.status().message()).c_str());
    return 1;
  }
  const std::string_view base =
      object.rfind('/') == std::string::npos
          ? std::string_view(object)
          : std::string_view(object).substr(object.rfind('/') + 1);
  std::fputs(Generate(*obj, base, source, name).c_str(), stdout);
  return 0;
}
