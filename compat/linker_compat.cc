// SPDX-License-Identifier: Apache-2.0
// libbpf's static linker (tools/lib/bpf/linker.c; libbpf 1.1 ABI:
// bpf_linker__new, __add_file, __finalize, __free), the call behind
// `bpftool gen object`: 64-bit little-endian EM_BPF relocatable objects
// are read, their same-named sections concatenated at their alignment
// ("license" and "version" must be identical and are kept once), their
// symbol tables merged (locals kept, globals resolved: strong over weak
// over extern, two strong definitions refused, extern and definition
// checked against each other's BTF), relocations moved to the new
// offsets and symbol indices, the BTF of every file appended with its ids
// remapped, DATASECs rebuilt with the new offsets, .BTF.ext records moved
// with their instructions, and the whole BTF deduplicated with btf__dedup
// (btf_compat.cc) before one ELF file is written.
//
// The ELF reader and writer are this file's own (as the loader's reader
// in loader/elf_object.cc): every read is bounds-checked, and the output
// is laid out as libelf lays out a new file (header, sections in index
// order at their alignment, section headers last), so that the result
// matches libbpf's section for section. Errors are libbpf's: -errno with
// errno set, NULL and errno from bpf_linker__new.

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <elf.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "compat/btf_fields.h"
#include "compat/libbpf_conventions.h"
#include "compat/libbpf_internal.h"

using bpfemu::compat::BtfExtInfo;
using bpfemu::compat::BtfExtRecordTypeId;
using bpfemu::compat::ForEachBtfExtRecord;
using bpfemu::compat::ForEachStrOff;
using bpfemu::compat::ForEachTypeId;
using bpfemu::compat::LibbpfErr;
using bpfemu::compat::OptsValid;
using bpfemu::compat::Print;

namespace {

constexpr uint32_t kShtLlvmAddrsig = 0x6fff4c03;
constexpr uint32_t kRBpf64_64 = 1, kRBpf64Abs64 = 2, kRBpf64Abs32 = 3,
                   kRBpf64_32 = 10;
constexpr char kExternSec[] = ".extern";
constexpr char kMapsSec[] = ".maps";

// One section of an input file (linker.c struct src_sec); slot 0 unused.
// An ephemeral one is a BTF DATASEC without an ELF section (.kconfig,
// .ksyms, a .maps holding only externs).
struct SrcSec {
  std::string name;
  int dst_id = 0;
  size_t dst_off = 0;
  bool skipped = false;
  bool ephemeral = false;
  size_t sec_idx = 0;
  Elf64_Shdr shdr{};
  const uint8_t* data = nullptr;  // null for NOBITS and ephemeral ones
  int sec_type_id = 0;            // its BTF DATASEC
};

// One input file (linker.c struct src_obj).
struct SrcObj {
  const char* filename = nullptr;
  std::vector<uint8_t> file;
  size_t shstrndx = 0;
  size_t symtab_idx = 0;
  struct btf* btf = nullptr;
  std::vector<uint8_t> ext;  // .BTF.ext as read
  bool has_ext = false;
  std::vector<SrcSec> secs = std::vector<SrcSec>(1);
  std::vector<int> sym_map;
  std::vector<int> btf_type_map;

  SrcObj() = default;
  SrcObj(const SrcObj&) = delete;
  SrcObj& operator=(const SrcObj&) = delete;
  ~SrcObj() { btf__free(btf); }

  const Elf64_Sym* Syms() const {
    return reinterpret_cast<const Elf64_Sym*>(secs[symtab_idx].data);
  }
  size_t SymCnt() const {
    return secs[symtab_idx].shdr.sh_size / sizeof(Elf64_Sym);
  }
  // A NUL-terminated string at `off` of string section `idx`, or null.
  const char* Str(size_t idx, size_t off) const {
    if (idx == 0 || idx >= secs.size()) return nullptr;
    const SrcSec& s = secs[idx];
    if (s.data == nullptr || off >= s.shdr.sh_size) return nullptr;
    const auto* p = reinterpret_cast<const char*>(s.data);
    if (memchr(p + off, 0, s.shdr.sh_size - off) == nullptr) return nullptr;
    return p + off;
  }
  SrcSec* FindSec(const std::string& name) {
    for (size_t i = 1; i < secs.size(); ++i) {
      if (secs[i].name == name) return &secs[i];
    }
    return nullptr;
  }
};

// The records of one .BTF.ext kind gathered for one output section.
struct ExtRecs {
  uint32_t rec_sz = 0;
  size_t cnt = 0;
  std::vector<uint8_t> recs;
};

// One output section (linker.c struct dst_sec); slot 0 unused.
struct DstSec {
  std::string name;
  int id = 0;
  bool ephemeral = false;
  size_t sec_idx = 0;  // ELF index; 0 while ephemeral
  Elf64_Shdr shdr{};
  size_t sec_sz = 0;
  std::vector<uint8_t> raw;
  size_t sec_sym_idx = 0;
  bool has_btf = false;
  std::vector<btf_var_secinfo> sec_vars;
  ExtRecs ext[3];  // by BtfExtInfo
};

// A global or extern symbol (linker.c struct glob_sym).
struct GlobSym {
  size_t sym_idx = 0;
  int sec_id = 0;
  uint32_t name_off = 0;
  int btf_id = 0;
  int underlying_btf_id = 0;
  int var_idx = -1;
  bool is_extern = false;
  bool is_weak = false;
};

template <typename T>
T* NullErr(int err) {
  errno = -err;
  return nullptr;
}

bool IsPow2(uint64_t x) { return x != 0 && (x & (x - 1)) == 0; }

btf_type* MutType(struct btf* btf, uint32_t id) {
  return const_cast<btf_type*>(btf__type_by_id(btf, id));
}

bool IsDwarfSec(const std::string& name) {
  return name.compare(0, 7, ".debug_") == 0;
}

bool IsIgnoredSec(const SrcSec& s) {
  if (s.shdr.sh_type == SHT_STRTAB || s.shdr.sh_type == kShtLlvmAddrsig) {
    return true;
  }
  if (s.shdr.sh_type == SHT_PROGBITS && s.shdr.sh_size == 0 &&
      s.name == ".text") {
    return true;
  }
  if (IsDwarfSec(s.name)) return true;
  if (s.name.compare(0, 4, ".rel") == 0) {
    const std::string rest = s.name.substr(4);
    if (IsDwarfSec(rest) || rest == ".BTF" || rest == ".BTF.ext") return true;
  }
  return false;
}

bool BtfNonStatic(const btf_type* t) {
  return (btf_is_var(t) && btf_var(t)->linkage != BTF_VAR_STATIC) ||
         (btf_is_func(t) && btf_vlen(t) != BTF_FUNC_STATIC);
}

const btf_type* SkipModsAndTypedefs(const struct btf* btf, uint32_t* id) {
  const btf_type* t = btf__type_by_id(btf, *id);
  while (t != nullptr && (btf_is_mod(t) || btf_is_typedef(t))) {
    *id = t->type;
    t = btf__type_by_id(btf, *id);
  }
  return t;
}

const char* Name(const struct btf* btf, uint32_t off) {
  const char* s = btf__str_by_offset(btf, off);
  return s != nullptr ? s : "";
}

// linker.c glob_sym_btf_matches(): whether two declarations of one global
// agree (exact: struct and union members too; pointers only compare the
// kind they point to).
bool BtfMatches(const char* sym, bool exact, const struct btf* b1, uint32_t id1,
                const struct btf* b2, uint32_t id2) {
  for (;;) {
    const btf_type* t1 = SkipModsAndTypedefs(b1, &id1);
    const btf_type* t2 = SkipModsAndTypedefs(b2, &id2);
    if (t1 == nullptr || t2 == nullptr) return false;
    if (!exact && btf_is_fwd(t1) != btf_is_fwd(t2)) {
      if (strcmp(Name(b1, t1->name_off), Name(b2, t2->name_off)) != 0) {
        Print(LIBBPF_WARN,
              "libbpf: global '%s': incompatible forward declaration "
              "names\n",
              sym);
        return false;
      }
      const btf_type* fwd = btf_is_fwd(t1) ? t1 : t2;
      const btf_type* full = btf_is_fwd(t1) ? t2 : t1;
      if (btf_kflag(fwd) ? btf_is_union(full) : btf_is_struct(full)) {
        return true;
      }
      Print(LIBBPF_WARN,
            "libbpf: global '%s': incompatible forward declaration and "
            "concrete kind\n",
            sym);
      return false;
    }
    if (btf_kind(t1) != btf_kind(t2)) {
      Print(LIBBPF_WARN, "libbpf: global '%s': incompatible BTF kinds\n", sym);
      return false;
    }
    switch (btf_kind(t1)) {
      case BTF_KIND_STRUCT:
      case BTF_KIND_UNION:
      case BTF_KIND_ENUM:
      case BTF_KIND_ENUM64:
      case BTF_KIND_FWD:
      case BTF_KIND_FUNC:
      case BTF_KIND_VAR:
        if (strcmp(Name(b1, t1->name_off), Name(b2, t2->name_off)) != 0) {
          Print(LIBBPF_WARN, "libbpf: global '%s': incompatible names\n", sym);
          return false;
        }
        break;
      default:
        break;
    }
    switch (btf_kind(t1)) {
      case BTF_KIND_UNKN:
      case BTF_KIND_FWD:
        return true;
      case BTF_KIND_INT:
      case BTF_KIND_FLOAT:
      case BTF_KIND_ENUM:
      case BTF_KIND_ENUM64:
        if (t1->size != t2->size) {
          Print(LIBBPF_WARN, "libbpf: global '%s': incompatible sizes\n", sym);
          return false;
        }
        return true;
      case BTF_KIND_PTR:
        exact = false;
        id1 = t1->type;
        id2 = t2->type;
        continue;
      case BTF_KIND_ARRAY:
        id1 = btf_array(t1)->type;
        id2 = btf_array(t2)->type;
        continue;
      case BTF_KIND_FUNC:
      case BTF_KIND_VAR:
        // Extern and global linkages are compatible, static is not.
        if (BtfNonStatic(t1) != BtfNonStatic(t2)) {
          Print(LIBBPF_WARN, "libbpf: global '%s': incompatible linkage\n",
                sym);
          return false;
        }
        id1 = t1->type;
        id2 = t2->type;
        continue;
      case BTF_KIND_STRUCT:
      case BTF_KIND_UNION: {
        if (!exact) return true;
        if (btf_vlen(t1) != btf_vlen(t2)) return false;
        const btf_member* m1 = btf_members(t1);
        const btf_member* m2 = btf_members(t2);
        for (int i = 0; i < btf_vlen(t1); ++i) {
          if (strcmp(Name(b1, m1[i].name_off), Name(b2, m2[i].name_off)) != 0 ||
              m1[i].offset != m2[i].offset ||
              !BtfMatches(sym, exact, b1, m1[i].type, b2, m2[i].type)) {
            Print(LIBBPF_WARN, "libbpf: global '%s': incompatible field #%d\n",
                  sym, i);
            return false;
          }
        }
        return true;
      }
      case BTF_KIND_FUNC_PROTO: {
        if (btf_vlen(t1) != btf_vlen(t2)) {
          Print(LIBBPF_WARN,
                "libbpf: global '%s': incompatible number of params\n", sym);
          return false;
        }
        const btf_param* p1 = btf_params(t1);
        const btf_param* p2 = btf_params(t2);
        for (int i = 0; i < btf_vlen(t1); ++i) {
          if (!BtfMatches(sym, exact, b1, p1[i].type, b2, p2[i].type)) {
            return false;
          }
        }
        id1 = t1->type;
        id2 = t2->type;
        continue;
      }
      default:
        Print(LIBBPF_WARN, "libbpf: global '%s': unsupported BTF kind\n", sym);
        return false;
    }
  }
}

// A BTF-defined map (libbpf.c parse_btf_map_def, the fields the linker
// compares).
struct MapDef {
  std::map<std::string, uint64_t> uints;  // type, max_entries, ...
  uint32_t key_type = 0, value_type = 0;
  bool has_inner = false;
  uint32_t inner = 0;  // the inner definition's struct
};

// __uint(name, N) is `int (*name)[N]`: N.
bool UintField(const struct btf* btf, uint32_t type, uint64_t* out) {
  const btf_type* t = SkipModsAndTypedefs(btf, &type);
  if (t == nullptr || !btf_is_ptr(t)) return false;
  const btf_type* a = btf__type_by_id(btf, t->type);
  if (a == nullptr || !btf_is_array(a)) return false;
  *out = btf_array(a)->nelems;
  return true;
}

bool ParseMapDef(const struct btf* btf, uint32_t struct_id, MapDef* d) {
  const btf_type* t = SkipModsAndTypedefs(btf, &struct_id);
  if (t == nullptr || !btf_is_struct(t)) return false;
  const btf_member* m = btf_members(t);
  for (int i = 0; i < btf_vlen(t); ++i) {
    const std::string name = Name(btf, m[i].name_off);
    if (name == "key" || name == "value") {
      uint32_t ptr = m[i].type;
      const btf_type* p = SkipModsAndTypedefs(btf, &ptr);
      if (p == nullptr || !btf_is_ptr(p)) return false;
      const __s64 sz = btf__resolve_size(btf, p->type);
      if (sz < 0) return false;
      (name == "key" ? d->key_type : d->value_type) = p->type;
      d->uints[name + "_size"] = static_cast<uint64_t>(sz);
    } else if (name == "values") {
      // An array of pointers to the inner map's definition.
      uint32_t arr = m[i].type;
      const btf_type* a = SkipModsAndTypedefs(btf, &arr);
      if (a == nullptr || !btf_is_array(a)) return false;
      uint32_t ptr = btf_array(a)->type;
      const btf_type* p = SkipModsAndTypedefs(btf, &ptr);
      if (p == nullptr || !btf_is_ptr(p)) return false;
      d->has_inner = true;
      d->inner = p->type;
    } else {
      uint64_t v = 0;
      if (!UintField(btf, m[i].type, &v)) return false;
      d->uints[name] = v;
    }
  }
  return true;
}

bool MapDefsMatch(const char* sym, const struct btf* b1, uint32_t s1,
                  const struct btf* b2, uint32_t s2) {
  MapDef d1, d2;
  if (!ParseMapDef(b1, s1, &d1) || !ParseMapDef(b2, s2, &d2)) {
    Print(LIBBPF_WARN, "libbpf: global '%s': invalid map definition\n", sym);
    return false;
  }
  const char* reason = nullptr;
  if (d1.uints != d2.uints) {
    reason = "definition";
  } else if ((d1.key_type != 0) != (d2.key_type != 0) ||
             (d1.key_type != 0 &&
              !BtfMatches(sym, true, b1, d1.key_type, b2, d2.key_type))) {
    reason = "key type";
  } else if ((d1.value_type != 0) != (d2.value_type != 0) ||
             (d1.value_type != 0 &&
              !BtfMatches(sym, true, b1, d1.value_type, b2, d2.value_type))) {
    reason = "value type";
  } else if (d1.has_inner != d2.has_inner) {
    reason = "inner map";
  }
  if (reason != nullptr) {
    Print(LIBBPF_WARN, "libbpf: global '%s': map %s mismatch\n", sym, reason);
    return false;
  }
  if (d1.has_inner) return MapDefsMatch(sym, b1, d1.inner, b2, d2.inner);
  return true;
}

}  // namespace

struct bpf_linker {
  std::string filename;
  int fd = -1;
  bool open = false;  // libbpf: linker->elf != NULL
  std::vector<DstSec> secs = std::vector<DstSec>(1);
  size_t elf_sec_cnt = 1;  // sections created so far, the null one too
  std::string strtab = std::string(1, '\0');
  std::map<std::string, uint32_t> strtab_offs = {{"", 0}};
  size_t strtab_sec_idx = 0;
  size_t symtab_sec_idx = 0;
  std::vector<Elf64_Sym> syms;
  struct btf* btf = nullptr;
  std::vector<GlobSym> glob_syms;

  ~bpf_linker() {
    btf__free(btf);
    if (fd >= 0) close(fd);
  }

  // strset__add_str(): the offset of `s`, added once.
  uint32_t AddStr(const std::string& s) {
    auto it = strtab_offs.find(s);
    if (it != strtab_offs.end()) return it->second;
    const auto off = static_cast<uint32_t>(strtab.size());
    strtab.append(s);
    strtab.push_back('\0');
    strtab_offs.emplace(s, off);
    return off;
  }
  DstSec* AddSec(const std::string& name) {
    secs.emplace_back();
    secs.back().name = name;
    secs.back().id = static_cast<int>(secs.size() - 1);
    return &secs.back();
  }
  DstSec* FindSec(const std::string& name) {
    for (size_t i = 1; i < secs.size(); ++i) {
      if (secs[i].name == name) return &secs[i];
    }
    return nullptr;
  }
  GlobSym* FindGlob(const char* name) {
    for (GlobSym& g : glob_syms) {
      if (strcmp(strtab.c_str() + g.name_off, name) == 0) return &g;
    }
    return nullptr;
  }
};

namespace {

// linker.c init_sec(): an output section shaped like `src`.
void InitSec(bpf_linker* l, DstSec* dst, const SrcSec& src) {
  dst->sec_sz = 0;
  dst->sec_idx = 0;
  dst->ephemeral = src.ephemeral;
  if (src.ephemeral) return;
  dst->sec_idx = l->elf_sec_cnt++;
  dst->shdr = Elf64_Shdr{};
  dst->shdr.sh_name = l->AddStr(src.name);
  dst->shdr.sh_type = src.shdr.sh_type;
  dst->shdr.sh_flags = src.shdr.sh_flags;
  dst->shdr.sh_addralign = src.shdr.sh_addralign;
  dst->shdr.sh_entsize = src.shdr.sh_entsize;
}

bool SecsMatch(const DstSec& d, const SrcSec& s) {
  if (d.ephemeral || s.ephemeral) return true;
  return d.shdr.sh_type == s.shdr.sh_type &&
         d.shdr.sh_flags == s.shdr.sh_flags &&
         d.shdr.sh_entsize == s.shdr.sh_entsize;
}

// linker.c extend_sec(): `src` appended to `dst` at its alignment.
void ExtendSec(bpf_linker* l, DstSec* dst, SrcSec* src) {
  if (src->ephemeral) return;
  if (dst->ephemeral) InitSec(l, dst, *src);
  size_t align = dst->shdr.sh_addralign;
  if (align == 0) align = 1;
  if (align < src->shdr.sh_addralign) align = src->shdr.sh_addralign;
  const size_t start = (dst->sec_sz + align - 1) / align * align;
  const size_t end = start + src->shdr.sh_size;
  if (src->shdr.sh_type != SHT_NOBITS) {
    dst->raw.resize(end, 0);
    if (src->shdr.sh_size != 0) {
      std::memcpy(dst->raw.data() + start, src->data, src->shdr.sh_size);
    }
  }
  dst->sec_sz = end;
  dst->shdr.sh_size = end;
  dst->shdr.sh_addralign = align;
  src->dst_off = start;
}

// --- reading one input -------------------------------------------------------

int ReadWholeFile(const char* path, std::vector<uint8_t>* out) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = -errno;
    Print(LIBBPF_WARN, "libbpf: failed to open file '%s': %d\n", path, err);
    return err;
  }
  uint8_t buf[65536];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      // libelf cannot read it: elf_begin fails.
      close(fd);
      return -EINVAL;
    }
    if (n == 0) break;
    out->insert(out->end(), buf, buf + n);
  }
  close(fd);
  return 0;
}

int CheckSymtab(SrcObj* obj, const SrcSec& sec) {
  if (sec.shdr.sh_entsize != sizeof(Elf64_Sym)) return -EINVAL;
  if (sec.shdr.sh_size % sizeof(Elf64_Sym) != 0) return -EINVAL;
  if (sec.shdr.sh_link == 0 || sec.shdr.sh_link >= obj->secs.size() ||
      obj->secs[sec.shdr.sh_link].shdr.sh_type != SHT_STRTAB) {
    Print(LIBBPF_WARN, "libbpf: ELF SYMTAB section #%zu has no STRTAB in %s\n",
          sec.sec_idx, obj->filename);
    return -EINVAL;
  }
  const auto* sym = reinterpret_cast<const Elf64_Sym*>(sec.data);
  const size_t n = sec.shdr.sh_size / sizeof(Elf64_Sym);
  for (size_t i = 0; i < n; ++i) {
    const Elf64_Sym& s = sym[i];
    const int bind = ELF64_ST_BIND(s.st_info);
    const int vis = ELF64_ST_VISIBILITY(s.st_other);
    if (i == 0) {
      if (s.st_name != 0 || s.st_info != 0 || s.st_other != 0 ||
          s.st_shndx != 0 || s.st_value != 0 || s.st_size != 0) {
        Print(LIBBPF_WARN, "libbpf: ELF sym #0 is invalid in %s\n",
              obj->filename);
        return -EINVAL;
      }
      continue;
    }
    if (bind != STB_LOCAL && bind != STB_GLOBAL && bind != STB_WEAK) {
      return -EINVAL;
    }
    if (vis != STV_DEFAULT && vis != STV_HIDDEN) return -EINVAL;
    if (s.st_shndx == SHN_UNDEF) {
      if (ELF64_ST_TYPE(s.st_info) != STT_NOTYPE || bind == STB_LOCAL ||
          s.st_value != 0 || s.st_size != 0) {
        Print(LIBBPF_WARN,
              "libbpf: ELF sym #%zu is invalid extern symbol in "
              "%s\n",
              i, obj->filename);
        return -EINVAL;
      }
      continue;
    }
    if (s.st_shndx < SHN_LORESERVE && s.st_shndx >= obj->secs.size()) {
      return -EINVAL;
    }
    if (ELF64_ST_TYPE(s.st_info) == STT_SECTION && s.st_value != 0) {
      return -EINVAL;
    }
  }
  return 0;
}

int CheckRelos(SrcObj* obj, const SrcSec& sec) {
  if (sec.shdr.sh_entsize != sizeof(Elf64_Rel)) return -EINVAL;
  if (sec.shdr.sh_size % sizeof(Elf64_Rel) != 0) return -EINVAL;
  if (sec.shdr.sh_link != obj->symtab_idx) return -EINVAL;
  if (sec.shdr.sh_info == 0 || sec.shdr.sh_info >= obj->secs.size()) {
    return -EINVAL;
  }
  const SrcSec& linked = obj->secs[sec.shdr.sh_info];
  if (sec.name.compare(0, 4, ".rel") != 0 ||
      sec.name.substr(4) != linked.name) {
    Print(LIBBPF_WARN,
          "libbpf: ELF relo section #%zu name has invalid name "
          "in %s\n",
          sec.sec_idx, obj->filename);
    return -EINVAL;
  }
  if (linked.skipped) return 0;
  if (linked.shdr.sh_type != SHT_PROGBITS &&
      linked.shdr.sh_type != SHT_NOBITS) {
    return -EINVAL;
  }
  const auto* rel = reinterpret_cast<const Elf64_Rel*>(sec.data);
  const size_t n = sec.shdr.sh_size / sizeof(Elf64_Rel);
  const uint64_t symtab_size = obj->secs[obj->symtab_idx].shdr.sh_size;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t sym = ELF64_R_SYM(rel[i].r_info);
    const uint64_t type = ELF64_R_TYPE(rel[i].r_info);
    if (type != kRBpf64_64 && type != kRBpf64_32 && type != kRBpf64Abs64 &&
        type != kRBpf64Abs32) {
      Print(LIBBPF_WARN,
            "libbpf: ELF relo #%zu in section #%zu has "
            "unexpected type %lu in %s\n",
            i, sec.sec_idx, static_cast<unsigned long>(type), obj->filename);
      return -EINVAL;
    }
    if (sym == 0 || sym * sizeof(Elf64_Sym) >= symtab_size) return -EINVAL;
    if ((linked.shdr.sh_flags & SHF_EXECINSTR) != 0 &&
        rel[i].r_offset % sizeof(struct bpf_insn) != 0) {
      return -EINVAL;
    }
    // Our own bound (libbpf trusts the offset): the patched word must lie
    // inside the relocated section.
    if (rel[i].r_offset >= linked.shdr.sh_size ||
        linked.shdr.sh_size - rel[i].r_offset < sizeof(struct bpf_insn)) {
      if ((linked.shdr.sh_flags & SHF_EXECINSTR) != 0) return -EINVAL;
    }
  }
  return 0;
}

// linker.c linker_sanity_check_elf().
int CheckElf(SrcObj* obj) {
  if (obj->symtab_idx == 0) {
    Print(LIBBPF_WARN, "libbpf: ELF is missing SYMTAB section in %s\n",
          obj->filename);
    return -EINVAL;
  }
  if (obj->shstrndx == 0) return -EINVAL;
  for (size_t i = 1; i < obj->secs.size(); ++i) {
    const SrcSec& s = obj->secs[i];
    if (s.name.empty()) {
      Print(LIBBPF_WARN, "libbpf: ELF section #%zu has empty name in %s\n",
            s.sec_idx, obj->filename);
      return -EINVAL;
    }
    if (IsDwarfSec(s.name)) continue;
    if (s.shdr.sh_addralign != 0 && !IsPow2(s.shdr.sh_addralign)) {
      return -EINVAL;
    }
    int err = 0;
    switch (s.shdr.sh_type) {
      case SHT_SYMTAB:
        err = CheckSymtab(obj, s);
        break;
      case SHT_STRTAB:
      case SHT_NOBITS:
      case kShtLlvmAddrsig:
        break;
      case SHT_PROGBITS:
        if ((s.shdr.sh_flags & SHF_EXECINSTR) != 0 &&
            s.shdr.sh_size % sizeof(struct bpf_insn) != 0) {
          err = -EINVAL;
        }
        break;
      case SHT_REL:
        err = CheckRelos(obj, s);
        break;
      default:
        Print(LIBBPF_WARN,
              "libbpf: ELF section #%zu (%s) has unrecognized "
              "type %u in %s\n",
              s.sec_idx, s.name.c_str(), s.shdr.sh_type, obj->filename);
        err = -EINVAL;
    }
    if (err != 0) return err;
  }
  return 0;
}

// linker.c linker_sanity_check_btf() and _btf_ext(): every type id and
// string offset points inside the file's BTF.
int CheckBtf(SrcObj* obj) {
  if (obj->btf != nullptr) {
    const uint32_t n = btf__type_cnt(obj->btf);
    for (uint32_t i = 1; i < n; ++i) {
      btf_type* t = MutType(obj->btf, i);
      bool bad = false;
      ForEachTypeId(t, [&](__u32* id) { bad = bad || *id >= n; });
      ForEachStrOff(t, [&](__u32* off) {
        bad = bad || btf__str_by_offset(obj->btf, *off) == nullptr;
      });
      if (bad) return -EINVAL;
    }
  }
  if (!obj->has_ext) return 0;
  if (obj->btf == nullptr) return -EINVAL;
  const uint32_t n = btf__type_cnt(obj->btf);
  bool bad = false;
  auto str_ok = [&](uint32_t off) {
    bad = bad || btf__str_by_offset(obj->btf, off) == nullptr;
  };
  for (BtfExtInfo kind :
       {BtfExtInfo::kFunc, BtfExtInfo::kLine, BtfExtInfo::kCoreRelo}) {
    const bool ok =
        ForEachBtfExtRecord(obj->ext.data(), obj->ext.size(), kind,
                            [&](uint32_t name_off, uint8_t* rec, uint32_t) {
                              str_ok(name_off);
                              uint32_t w[3];
                              std::memcpy(w, rec + 4, sizeof(w));
                              if (kind == BtfExtInfo::kLine) {
                                str_ok(w[0]);
                                str_ok(w[1]);
                              } else {
                                bad = bad || w[0] >= n;
                                if (kind == BtfExtInfo::kCoreRelo) str_ok(w[1]);
                              }
                            });
    if (!ok || bad) return -EINVAL;
  }
  return 0;
}

const Elf64_Sym* FindSymByName(SrcObj* obj, size_t sec_idx, int type,
                               const char* name) {
  const Elf64_Sym* sym = obj->Syms();
  const size_t str_idx = obj->secs[obj->symtab_idx].shdr.sh_link;
  for (size_t i = 0; i < obj->SymCnt(); ++i) {
    if (sym[i].st_shndx != sec_idx || ELF64_ST_TYPE(sym[i].st_info) != type) {
      continue;
    }
    const char* n = obj->Str(str_idx, sym[i].st_name);
    if (n == nullptr) return nullptr;
    if (strcmp(n, name) == 0) return &sym[i];
  }
  return nullptr;
}

// linker.c linker_fixup_btf(): DATASEC sizes and global variables'
// offsets as the ELF file has them; DATASECs without a section (but
// .extern) become ephemeral sections.
int FixupBtf(SrcObj* obj) {
  if (obj->btf == nullptr) return 0;
  const uint32_t n = btf__type_cnt(obj->btf);
  for (uint32_t i = 1; i < n; ++i) {
    btf_type* t = MutType(obj->btf, i);
    if (!btf_is_datasec(t)) continue;
    const std::string name = Name(obj->btf, t->name_off);
    SrcSec* sec = obj->FindSec(name);
    if (sec != nullptr) {
      if (!sec->ephemeral) t->size = static_cast<uint32_t>(sec->shdr.sh_size);
    } else {
      if (name == kExternSec) continue;
      obj->secs.emplace_back();
      sec = &obj->secs.back();
      sec->name = name;
      sec->ephemeral = true;
    }
    sec->sec_type_id = static_cast<int>(i);
    btf_var_secinfo* vi = btf_var_secinfos(t);
    for (int j = 0; j < btf_vlen(t); ++j) {
      const btf_type* vt = btf__type_by_id(obj->btf, vi[j].type);
      if (vt == nullptr || !btf_is_var(vt)) continue;
      if (btf_var(vt)->linkage != BTF_VAR_GLOBAL_ALLOCATED) continue;
      const char* var = Name(obj->btf, vt->name_off);
      const Elf64_Sym* sym = FindSymByName(obj, sec->sec_idx, STT_OBJECT, var);
      if (sym == nullptr) {
        Print(LIBBPF_WARN,
              "libbpf: failed to find symbol for variable '%s' "
              "in section '%s'\n",
              var, name.c_str());
        return -ENOENT;
      }
      vi[j].offset = static_cast<uint32_t>(sym->st_value);
    }
  }
  return 0;
}

// linker.c linker_load_obj_file(): the file read, checked and split into
// sections.
int LoadObj(const char* filename, SrcObj* obj) {
  obj->filename = filename;
  int err = ReadWholeFile(filename, &obj->file);
  if (err != 0) return err;
  const std::vector<uint8_t>& f = obj->file;
  // What libelf's elf64_getehdr() refuses: not ELF, or not ELFCLASS64.
  if (f.size() < sizeof(Elf64_Ehdr) ||
      std::memcmp(f.data(), ELFMAG, SELFMAG) != 0 ||
      f[EI_CLASS] != ELFCLASS64) {
    Print(LIBBPF_WARN, "libbpf: failed to get ELF header for %s\n", filename);
    return -EINVAL;
  }
  Elf64_Ehdr eh;
  std::memcpy(&eh, f.data(), sizeof(eh));
  if (eh.e_ident[EI_DATA] != ELFDATA2LSB) {
    Print(LIBBPF_WARN, "libbpf: unsupported byte order of ELF file %s\n",
          filename);
    return -EOPNOTSUPP;
  }
  if (eh.e_type != ET_REL || eh.e_machine != EM_BPF) {
    Print(LIBBPF_WARN, "libbpf: unsupported kind of ELF file %s\n", filename);
    return -EOPNOTSUPP;
  }
  // Section headers (with extended numbering through section 0).
  if (eh.e_shoff == 0 || eh.e_shentsize != sizeof(Elf64_Shdr) ||
      eh.e_shoff > f.size() || (f.size() - eh.e_shoff) < sizeof(Elf64_Shdr)) {
    return -EINVAL;
  }
  Elf64_Shdr sh0;
  std::memcpy(&sh0, f.data() + eh.e_shoff, sizeof(sh0));
  const uint64_t shnum = eh.e_shnum != 0 ? eh.e_shnum : sh0.sh_size;
  obj->shstrndx = eh.e_shstrndx != SHN_XINDEX ? eh.e_shstrndx : sh0.sh_link;
  if (shnum > (f.size() - eh.e_shoff) / sizeof(Elf64_Shdr) ||
      obj->shstrndx >= shnum) {
    return -EINVAL;
  }
  obj->secs.resize(shnum);
  for (size_t i = 1; i < shnum; ++i) {
    SrcSec& s = obj->secs[i];
    std::memcpy(&s.shdr, f.data() + eh.e_shoff + i * sizeof(Elf64_Shdr),
                sizeof(Elf64_Shdr));
    s.sec_idx = i;
    if (s.shdr.sh_type != SHT_NOBITS &&
        (s.shdr.sh_offset > f.size() ||
         s.shdr.sh_size > f.size() - s.shdr.sh_offset)) {
      Print(LIBBPF_WARN, "libbpf: failed to get section #%zu data from %s\n", i,
            filename);
      return -EINVAL;
    }
    if (s.shdr.sh_type != SHT_NOBITS) s.data = f.data() + s.shdr.sh_offset;
  }
  for (size_t i = 1; i < shnum; ++i) {
    SrcSec& s = obj->secs[i];
    const char* name = obj->Str(obj->shstrndx, s.shdr.sh_name);
    if (name == nullptr) {
      Print(LIBBPF_WARN, "libbpf: failed to get section #%zu name for %s\n", i,
            filename);
      return -EINVAL;
    }
    s.name = name;
    if (IsIgnoredSec(s)) {
      s.skipped = true;
      continue;
    }
    switch (s.shdr.sh_type) {
      case SHT_SYMTAB:
        if (obj->symtab_idx != 0) {
          Print(LIBBPF_WARN,
                "libbpf: multiple SYMTAB sections found, not supported\n");
          return -EOPNOTSUPP;
        }
        obj->symtab_idx = i;
        break;
      case SHT_PROGBITS:
        if (s.name == ".BTF") {
          obj->btf = btf__new(s.data, static_cast<__u32>(s.shdr.sh_size));
          if (obj->btf == nullptr) {
            err = -errno;
            Print(LIBBPF_WARN, "libbpf: failed to parse .BTF from %s: %d\n",
                  filename, err);
            return err;
          }
          s.skipped = true;
        } else if (s.name == ".BTF.ext") {
          struct btf_ext* e =
              btf_ext__new(s.data, static_cast<__u32>(s.shdr.sh_size));
          if (e == nullptr) return -errno;
          btf_ext__free(e);
          obj->ext.assign(s.data, s.data + s.shdr.sh_size);
          obj->has_ext = true;
          s.skipped = true;
        }
        break;
      case SHT_NOBITS:
      case SHT_REL:
        break;
      default:
        Print(LIBBPF_WARN, "libbpf: unrecognized section #%zu (%s) in %s\n", i,
              name, filename);
        return -EINVAL;
    }
  }
  err = CheckElf(obj);
  if (err == 0) err = CheckBtf(obj);
  if (err == 0) err = FixupBtf(obj);
  return err;
}

// --- merging -----------------------------------------------------------------

bool IsDataSec(const SrcSec& s) {
  if (s.skipped) return false;
  if (s.ephemeral) return true;
  return s.shdr.sh_type == SHT_PROGBITS || s.shdr.sh_type == SHT_NOBITS;
}

int AppendSecData(bpf_linker* l, SrcObj* obj) {
  for (size_t i = 1; i < obj->secs.size(); ++i) {
    SrcSec& src = obj->secs[i];
    if (!IsDataSec(src)) continue;
    DstSec* dst = l->FindSec(src.name);
    if (dst == nullptr) {
      dst = l->AddSec(src.name);
      InitSec(l, dst, src);
    } else {
      if (!SecsMatch(*dst, src)) {
        Print(LIBBPF_WARN, "libbpf: ELF sections %s are incompatible\n",
              src.name.c_str());
        return -EINVAL;
      }
      if (src.name == "license" || src.name == "version") {
        if (dst->sec_sz != src.shdr.sh_size ||
            (dst->sec_sz != 0 &&
             std::memcmp(dst->raw.data(), src.data, dst->sec_sz) != 0)) {
          Print(LIBBPF_WARN,
                "libbpf: non-identical contents of section '%s' "
                "are not supported\n",
                src.name.c_str());
          return -EINVAL;
        }
        src.skipped = true;
        src.dst_id = dst->id;
        continue;
      }
    }
    src.dst_id = dst->id;
    ExtendSec(l, dst, &src);
  }
  return 0;
}

// linker.c find_glob_sym_btf(): the BTF VAR or FUNC of global `name`, and
// the DATASEC holding it (0 for none).
int FindGlobSymBtf(SrcObj* obj, const char* name, int* sec_id, int* btf_id) {
  if (obj->btf == nullptr) {
    Print(LIBBPF_WARN, "libbpf: failed to find BTF info for object '%s'\n",
          obj->filename);
    return -EINVAL;
  }
  int floating = 0;
  const uint32_t n = btf__type_cnt(obj->btf);
  for (uint32_t i = 1; i < n; ++i) {
    const btf_type* t = btf__type_by_id(obj->btf, i);
    if (BtfNonStatic(t)) {
      if (strcmp(Name(obj->btf, t->name_off), name) == 0) {
        floating = static_cast<int>(i);
      }
      continue;
    }
    if (!btf_is_datasec(t)) continue;
    const btf_var_secinfo* vi = btf_var_secinfos(t);
    for (int j = 0; j < btf_vlen(t); ++j) {
      const btf_type* vt = btf__type_by_id(obj->btf, vi[j].type);
      if (vt == nullptr) continue;
      if (strcmp(Name(obj->btf, vt->name_off), name) != 0) continue;
      if (!BtfNonStatic(vt)) continue;
      if (floating != 0 && floating != static_cast<int>(vi[j].type)) {
        Print(LIBBPF_WARN, "libbpf: global/extern '%s' BTF is ambiguous\n",
              name);
        return -EINVAL;
      }
      *sec_id = static_cast<int>(i);
      *btf_id = static_cast<int>(vi[j].type);
      return 0;
    }
  }
  if (floating != 0) {
    *sec_id = 0;
    *btf_id = floating;
    return 0;
  }
  Print(LIBBPF_WARN,
        "libbpf: failed to find BTF info for global/extern symbol '%s'\n",
        name);
  return -ENOENT;
}

bool GlobSymsMatch(bpf_linker* l, const GlobSym& g, SrcObj* obj,
                   const char* name, int btf_id) {
  if (g.btf_id == 0 || btf_id == 0) {
    Print(LIBBPF_WARN, "libbpf: BTF info is missing for global symbol '%s'\n",
          name);
    return false;
  }
  const btf_type* src_t = btf__type_by_id(obj->btf, btf_id);
  if (!btf_is_var(src_t) && !btf_is_func(src_t)) return false;
  if (g.sec_id != 0 && l->secs[g.sec_id].name == kMapsSec) {
    const btf_type* dst_t = btf__type_by_id(l->btf, g.btf_id);
    if (!btf_is_var(src_t) || dst_t == nullptr || !btf_is_var(dst_t)) {
      return false;
    }
    return MapDefsMatch(name, l->btf, dst_t->type, obj->btf, src_t->type);
  }
  return BtfMatches(name, true, l->btf, g.btf_id, obj->btf, btf_id);
}

// linker.c complete_extern_btf_info(): an extern VAR or FUNC that got its
// definition takes the definition's linkage and parameter names.
int CompleteExtern(struct btf* dst, int dst_id, struct btf* src, int src_id) {
  btf_type* dt = MutType(dst, dst_id);
  const btf_type* st = btf__type_by_id(src, src_id);
  if (btf_is_var(dt)) {
    btf_var(dt)->linkage = BTF_VAR_GLOBAL_ALLOCATED;
    return 0;
  }
  dt->info = (BTF_KIND_FUNC << 24) | BTF_FUNC_GLOBAL;
  const uint32_t dst_proto = dt->type;
  const btf_type* sp = btf__type_by_id(src, st->type);
  const int vlen = btf_vlen(MutType(dst, dst_proto));
  for (int i = 0; i < vlen; ++i) {
    const uint32_t name_off = btf_params(sp)[i].name_off;
    if (name_off == 0) continue;
    const int off = btf__add_str(dst, Name(src, name_off));
    if (off < 0) return off;
    // Re-read: adding a string may move the type.
    btf_params(MutType(dst, dst_proto))[i].name_off = off;
  }
  return 0;
}

int AppendSym(bpf_linker* l, SrcObj* obj, const Elf64_Sym& sym,
              const char* name, size_t src_idx) {
  SrcSec* src_sec = nullptr;
  DstSec* dst_sec = nullptr;
  const int type = ELF64_ST_TYPE(sym.st_info);
  const int bind = ELF64_ST_BIND(sym.st_info);
  const int vis = ELF64_ST_VISIBILITY(sym.st_other);
  const bool is_extern = sym.st_shndx == SHN_UNDEF;
  if (is_extern) {
    if (obj->btf == nullptr) {
      Print(LIBBPF_WARN,
            "libbpf: externs without BTF info are not "
            "supported\n");
      return -ENOTSUP;
    }
  } else if (sym.st_shndx < SHN_LORESERVE) {
    src_sec = &obj->secs[sym.st_shndx];
    if (src_sec->skipped) return 0;
    dst_sec = &l->secs[src_sec->dst_id];
    if (type == STT_SECTION && dst_sec->sec_sym_idx != 0) {
      obj->sym_map[src_idx] = static_cast<int>(dst_sec->sec_sym_idx);
      return 0;
    }
  }
  if (bind != STB_LOCAL) {
    int btf_sec_id = 0, btf_id = 0;
    int err = FindGlobSymBtf(obj, name, &btf_sec_id, &btf_id);
    if (err != 0) return err;
    if (is_extern && btf_sec_id != 0) {
      const char* sec_name =
          Name(obj->btf, btf__type_by_id(obj->btf, btf_sec_id)->name_off);
      if (strcmp(sec_name, kExternSec) != 0) {
        src_sec = obj->FindSec(sec_name);
        if (src_sec == nullptr) {
          Print(LIBBPF_WARN, "libbpf: failed to find matching ELF sec '%s'\n",
                sec_name);
          return -ENOENT;
        }
        dst_sec = &l->secs[src_sec->dst_id];
      }
    }
    GlobSym* g = l->FindGlob(name);
    if (g != nullptr) {
      obj->sym_map[src_idx] = static_cast<int>(g->sym_idx);
      if (!is_extern && !g->is_extern && !g->is_weak && bind != STB_WEAK) {
        Print(LIBBPF_WARN,
              "libbpf: conflicting non-weak symbol #%zu (%s) "
              "definition in '%s'\n",
              src_idx, name, obj->filename);
        return -EINVAL;
      }
      if (!GlobSymsMatch(l, *g, obj, name, btf_id)) return -EINVAL;
      Elf64_Sym& dst = l->syms[g->sym_idx];
      if (bind == STB_GLOBAL) {
        dst.st_info = ELF64_ST_INFO(STB_GLOBAL, ELF64_ST_TYPE(dst.st_info));
        g->is_weak = false;
      }
      if (vis > ELF64_ST_VISIBILITY(dst.st_other)) {
        dst.st_other = (dst.st_other & ~0x3) | vis;
      }
      if (is_extern) return 0;
      if (!g->is_extern && bind == STB_WEAK) return 0;
      // A definition replaces the extern (or the weak one).
      dst.st_info = ELF64_ST_INFO(ELF64_ST_BIND(dst.st_info), type);
      dst.st_shndx = static_cast<uint16_t>(dst_sec->sec_idx);
      dst.st_value = src_sec->dst_off + sym.st_value;
      dst.st_size = sym.st_size;
      g->sec_id = dst_sec->id;
      g->is_extern = false;
      if (CompleteExtern(l->btf, g->btf_id, obj->btf, btf_id) != 0) {
        return -EINVAL;
      }
      g->underlying_btf_id = 0;
      return 0;
    }
  }
  const uint32_t name_off = l->AddStr(name);
  const size_t dst_idx = l->syms.size();
  Elf64_Sym out = sym;
  out.st_name = name_off;
  out.st_shndx = dst_sec != nullptr ? static_cast<uint16_t>(dst_sec->sec_idx)
                                    : sym.st_shndx;
  out.st_value = (src_sec != nullptr ? src_sec->dst_off : 0) + sym.st_value;
  if (type == STT_SECTION && dst_sec != nullptr) {
    dst_sec->sec_sym_idx = dst_idx;
    out.st_value = 0;
  }
  l->syms.push_back(out);
  obj->sym_map[src_idx] = static_cast<int>(dst_idx);
  if (bind != STB_LOCAL) {
    GlobSym g;
    g.sym_idx = dst_idx;
    g.sec_id = dst_sec != nullptr ? dst_sec->id : 0;
    g.name_off = name_off;
    g.is_extern = is_extern;
    g.is_weak = bind == STB_WEAK;
    l->glob_syms.push_back(g);
  }
  return 0;
}

int AppendSyms(bpf_linker* l, SrcObj* obj) {
  const Elf64_Sym* sym = obj->Syms();
  const size_t n = obj->SymCnt();
  const size_t str_idx = obj->secs[obj->symtab_idx].shdr.sh_link;
  obj->sym_map.assign(n + 1, 0);
  for (size_t i = 1; i < n; ++i) {
    const char* name = obj->Str(str_idx, sym[i].st_name);
    if (name == nullptr) {
      Print(LIBBPF_WARN,
            "libbpf: can't fetch symbol name for symbol #%zu in "
            "'%s'\n",
            i, obj->filename);
      return -EINVAL;
    }
    const int err = AppendSym(l, obj, sym[i], name, i);
    if (err != 0) return err;
  }
  return 0;
}

int AppendRelos(bpf_linker* l, SrcObj* obj) {
  for (size_t i = 1; i < obj->secs.size(); ++i) {
    SrcSec& src = obj->secs[i];
    if (src.skipped || src.ephemeral || src.shdr.sh_type != SHT_REL) continue;
    SrcSec& linked = obj->secs[src.shdr.sh_info];
    if (linked.skipped) continue;
    DstSec* dst = l->FindSec(src.name);
    if (dst == nullptr) {
      dst = l->AddSec(src.name);
      InitSec(l, dst, src);
    } else if (!SecsMatch(*dst, src)) {
      Print(LIBBPF_WARN, "libbpf: sections %s are not compatible\n",
            src.name.c_str());
      return -EINVAL;
    }
    const int dst_id = dst->id;
    dst->shdr.sh_link = static_cast<uint32_t>(l->symtab_sec_idx);
    dst->shdr.sh_info = static_cast<uint32_t>(l->secs[linked.dst_id].sec_idx);
    src.dst_id = dst_id;
    ExtendSec(l, dst, &src);
    const size_t n = src.shdr.sh_size / sizeof(Elf64_Rel);
    for (size_t j = 0; j < n; ++j) {
      auto* rel = reinterpret_cast<Elf64_Rel*>(l->secs[dst_id].raw.data() +
                                               src.dst_off) +
                  j;
      const uint64_t src_sym_idx = ELF64_R_SYM(rel->r_info);
      const uint64_t rtype = ELF64_R_TYPE(rel->r_info);
      const Elf64_Sym& src_sym = obj->Syms()[src_sym_idx];
      rel->r_offset += linked.dst_off;
      rel->r_info =
          ELF64_R_INFO(static_cast<uint64_t>(obj->sym_map[src_sym_idx]), rtype);
      if (ELF64_ST_TYPE(src_sym.st_info) != STT_SECTION) continue;
      if ((linked.shdr.sh_flags & SHF_EXECINSTR) == 0) {
        Print(LIBBPF_WARN,
              "libbpf: relocation against STT_SECTION in "
              "non-exec section is not supported!\n");
        return -EINVAL;
      }
      // A call or load through a section symbol: its offset in the
      // section moved with the section's part from this file.
      // (libbpf reads past its section array for a section symbol of a
      // reserved index; that is malformed input here.)
      if (src_sym.st_shndx >= obj->secs.size()) return -EINVAL;
      const SrcSec& target = obj->secs[src_sym.st_shndx];
      DstSec& code = l->secs[linked.dst_id];
      if (rel->r_offset + sizeof(struct bpf_insn) > code.raw.size()) {
        return -EINVAL;
      }
      struct bpf_insn insn;
      std::memcpy(&insn, code.raw.data() + rel->r_offset, sizeof(insn));
      if (insn.code == (BPF_JMP | BPF_CALL)) {
        insn.imm += static_cast<int32_t>(target.dst_off / sizeof(insn));
      } else {
        insn.imm += static_cast<int32_t>(target.dst_off);
      }
      std::memcpy(code.raw.data() + rel->r_offset, &insn, sizeof(insn));
    }
  }
  return 0;
}

// linker.c linker_append_btf(): the file's types appended (a global's
// VAR or FUNC only once), their ids remapped, and its DATASECs' variables
// recorded at their new offsets.
int AppendBtf(bpf_linker* l, SrcObj* obj) {
  if (obj->btf == nullptr) return 0;
  const uint32_t start_id = btf__type_cnt(l->btf);
  const uint32_t n = btf__type_cnt(obj->btf);
  obj->btf_type_map.assign(n + 1, 0);
  for (uint32_t i = 1; i < n; ++i) {
    const btf_type* t = btf__type_by_id(obj->btf, i);
    if (btf_is_datasec(t)) continue;
    GlobSym* g = nullptr;
    if (BtfNonStatic(t)) {
      g = l->FindGlob(Name(obj->btf, t->name_off));
      // license / version VARs of a deduplicated section.
      if (g == nullptr) continue;
      if (g->underlying_btf_id == 0) {
        g->underlying_btf_id = -static_cast<int>(t->type);
      }
      if (g->btf_id != 0) {
        obj->btf_type_map[i] = g->btf_id;
        continue;
      }
    }
    const int id = btf__add_type(l->btf, obj->btf, t);
    if (id < 0) return id;
    obj->btf_type_map[i] = id;
    if (g != nullptr) {
      g->btf_id = id;
      g->underlying_btf_id = -static_cast<int>(t->type);
    }
  }
  const uint32_t end_id = btf__type_cnt(l->btf);
  for (uint32_t i = start_id; i < end_id; ++i) {
    bool bad = false;
    ForEachTypeId(MutType(l->btf, i), [&](__u32* id) {
      const int mapped = *id <= n ? obj->btf_type_map[*id] : 0;
      if (mapped == 0 && *id != 0) bad = true;
      *id = static_cast<__u32>(mapped);
    });
    if (bad) return -EINVAL;
  }
  for (GlobSym& g : l->glob_syms) {
    if (g.underlying_btf_id >= 0) continue;
    g.underlying_btf_id = obj->btf_type_map[-g.underlying_btf_id];
    MutType(l->btf, g.btf_id)->type = g.underlying_btf_id;
  }
  for (size_t i = 1; i < obj->secs.size(); ++i) {
    const SrcSec& src = obj->secs[i];
    if (src.sec_type_id == 0 || src.skipped) continue;
    DstSec& dst = l->secs[src.dst_id];
    dst.has_btf = true;
    const btf_type* t = btf__type_by_id(obj->btf, src.sec_type_id);
    const btf_var_secinfo* sv = btf_var_secinfos(t);
    for (int j = 0; j < btf_vlen(t); ++j) {
      const int new_id = obj->btf_type_map[sv[j].type];
      const btf_type* nt = btf__type_by_id(l->btf, new_id);
      GlobSym* g = nullptr;
      if (nt != nullptr && BtfNonStatic(nt)) {
        const char* name = Name(l->btf, nt->name_off);
        g = l->FindGlob(name);
        if (g != nullptr && g->sec_id != dst.id) {
          Print(LIBBPF_WARN,
                "libbpf: global '%s': section mismatch %d vs "
                "%d\n",
                name, g->sec_id, dst.id);
          return -EINVAL;
        }
      }
      if (g != nullptr && g->var_idx >= 0) {
        // Already listed (an extern met its definition): the size may
        // have changed with the type.
        const __s64 sz = btf__resolve_size(l->btf, g->underlying_btf_id);
        if (sz < 0) return -EINVAL;
        dst.sec_vars[g->var_idx].size = static_cast<__u32>(sz);
        continue;
      }
      btf_var_secinfo v;
      v.type = static_cast<__u32>(new_id);
      v.size = sv[j].size;
      v.offset = static_cast<__u32>(src.dst_off + sv[j].offset);
      dst.sec_vars.push_back(v);
      if (g != nullptr) g->var_idx = static_cast<int>(dst.sec_vars.size() - 1);
    }
  }
  return 0;
}

// linker.c linker_append_btf_ext(): records follow their instructions;
// their types and strings move to the output BTF.
int AppendBtfExt(bpf_linker* l, SrcObj* obj) {
  if (!obj->has_ext) return 0;
  for (BtfExtInfo kind :
       {BtfExtInfo::kFunc, BtfExtInfo::kLine, BtfExtInfo::kCoreRelo}) {
    int err = 0;
    ForEachBtfExtRecord(
        obj->ext.data(), obj->ext.size(), kind,
        [&](uint32_t name_off, uint8_t* rec, uint32_t rec_sz) {
          if (err != 0) return;
          const char* sec_name = Name(obj->btf, name_off);
          SrcSec* src = obj->FindSec(sec_name);
          if (src == nullptr) {
            Print(LIBBPF_WARN,
                  "libbpf: can't find section '%s' referenced "
                  "from .BTF.ext\n",
                  sec_name);
            err = -EINVAL;
            return;
          }
          ExtRecs& out = l->secs[src->dst_id].ext[static_cast<int>(kind)];
          if (out.rec_sz == 0) out.rec_sz = rec_sz;
          if (out.rec_sz != rec_sz) {
            err = -EINVAL;
            return;
          }
          const size_t at = out.recs.size();
          out.recs.insert(out.recs.end(), rec, rec + rec_sz);
          out.cnt++;
          uint8_t* d = out.recs.data() + at;
          // A func_info record has 2 words, the others 4 (or more: the
          // rest is kept as it is).
          uint32_t w[4] = {};
          const size_t words = std::min<size_t>(rec_sz, sizeof(w));
          std::memcpy(w, d, words);
          w[0] += static_cast<uint32_t>(src->dst_off);
          auto restr = [&](uint32_t* off) {
            const int o = btf__add_str(l->btf, Name(obj->btf, *off));
            if (o < 0) err = -ENOMEM;
            *off = static_cast<uint32_t>(o);
          };
          if (kind == BtfExtInfo::kLine) {
            restr(&w[1]);
            restr(&w[2]);
          } else {
            w[1] = static_cast<uint32_t>(obj->btf_type_map[w[1]]);
            if (kind == BtfExtInfo::kCoreRelo) restr(&w[2]);
          }
          std::memcpy(d, w, words);
        });
    if (err != 0) return err;
  }
  return 0;
}

// --- output ------------------------------------------------------------------

// linker.c finalize_btf_ext(): the .BTF.ext blob (header, then for each
// kind its record size and one block per section), or empty for none.
int BuildBtfExt(bpf_linker* l, std::vector<uint8_t>* out) {
  uint32_t rec_sz[3] = {0, 0, 0};
  size_t part_sz[3] = {0, 0, 0};
  for (size_t i = 1; i < l->secs.size(); ++i) {
    for (int k = 0; k < 3; ++k) {
      const ExtRecs& r = l->secs[i].ext[k];
      if (r.cnt == 0) continue;
      if (rec_sz[k] == 0) rec_sz[k] = r.rec_sz;
      if (rec_sz[k] != r.rec_sz) return -EINVAL;
      part_sz[k] += 8 + r.recs.size();
    }
  }
  if (part_sz[0] + part_sz[1] + part_sz[2] == 0) return 0;
  out->assign(32, 0);
  uint32_t hdr[8] = {};
  hdr[0] = BTF_MAGIC | (1u << 16);  // magic, version 1, flags 0
  hdr[1] = 32;
  uint32_t off = 0;
  for (int k = 0; k < 3; ++k) {
    if (part_sz[k] != 0) part_sz[k] += 4;
    hdr[2 + 2 * k] = off;
    hdr[3 + 2 * k] = static_cast<uint32_t>(part_sz[k]);
    off += static_cast<uint32_t>(part_sz[k]);
  }
  std::memcpy(out->data(), hdr, sizeof(hdr));
  auto put32 = [&](uint32_t v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    out->insert(out->end(), p, p + 4);
  };
  for (int k = 0; k < 3; ++k) {
    if (part_sz[k] == 0) continue;
    put32(rec_sz[k]);
    for (size_t i = 1; i < l->secs.size(); ++i) {
      const ExtRecs& r = l->secs[i].ext[k];
      if (r.cnt == 0) continue;
      const int name = btf__add_str(l->btf, l->secs[i].name.c_str());
      if (name < 0) return -ENOMEM;
      put32(static_cast<uint32_t>(name));
      put32(static_cast<uint32_t>(r.cnt));
      out->insert(out->end(), r.recs.begin(), r.recs.end());
    }
  }
  return 0;
}

// An ELF section this writer emits.
struct OutSec {
  Elf64_Shdr shdr;
  const uint8_t* data;
};

// linker.c finalize_btf(): DATASECs rebuilt, .BTF.ext built, everything
// deduplicated; the .BTF and .BTF.ext contents (empty when there is no
// BTF).
int FinalizeBtf(bpf_linker* l, std::vector<uint8_t>* btf_raw,
                std::vector<uint8_t>* ext_raw) {
  if (btf__type_cnt(l->btf) == 1) return 0;
  for (size_t i = 1; i < l->secs.size(); ++i) {
    const DstSec& s = l->secs[i];
    if (!s.has_btf) continue;
    const int id =
        btf__add_datasec(l->btf, s.name.c_str(), static_cast<__u32>(s.sec_sz));
    if (id < 0) return id;
    for (const btf_var_secinfo& v : s.sec_vars) {
      if (btf__add_datasec_var_info(l->btf, static_cast<int>(v.type), v.offset,
                                    v.size) != 0) {
        return -EINVAL;
      }
    }
  }
  int err = BuildBtfExt(l, ext_raw);
  if (err != 0) return err;
  struct btf_ext* ext = nullptr;
  if (!ext_raw->empty()) {
    ext = btf_ext__new(ext_raw->data(), static_cast<__u32>(ext_raw->size()));
    if (ext == nullptr) return -errno;
  }
  LIBBPF_OPTS(btf_dedup_opts, opts, .btf_ext = ext);
  err = btf__dedup(l->btf, &opts);
  if (err == 0 && ext != nullptr) {
    __u32 sz = 0;
    const auto* p =
        static_cast<const uint8_t*>(btf_ext__get_raw_data(ext, &sz));
    ext_raw->assign(p, p + sz);
  }
  btf_ext__free(ext);
  if (err != 0) return err;
  __u32 sz = 0;
  const auto* raw = static_cast<const uint8_t*>(btf__raw_data(l->btf, &sz));
  if (raw == nullptr) return -ENOMEM;
  btf_raw->assign(raw, raw + sz);
  return 0;
}

// libelf's layout of a new file: the header, each section at its
// alignment in index order (NOBITS take no room), the section headers at
// 8 bytes.
int WriteElf(bpf_linker* l, const std::vector<OutSec>& secs) {
  std::vector<uint8_t> out(sizeof(Elf64_Ehdr), 0);
  std::vector<Elf64_Shdr> shdrs(secs.size());
  for (size_t i = 1; i < secs.size(); ++i) {
    shdrs[i] = secs[i].shdr;
    const size_t align = shdrs[i].sh_addralign != 0 ? shdrs[i].sh_addralign : 1;
    const size_t off = (out.size() + align - 1) / align * align;
    out.resize(off, 0);
    shdrs[i].sh_offset = off;
    if (shdrs[i].sh_type != SHT_NOBITS && shdrs[i].sh_size != 0) {
      out.insert(out.end(), secs[i].data, secs[i].data + shdrs[i].sh_size);
    }
  }
  const size_t shoff = (out.size() + 7) / 8 * 8;
  out.resize(shoff, 0);
  const auto* sh = reinterpret_cast<const uint8_t*>(shdrs.data());
  out.insert(out.end(), sh, sh + shdrs.size() * sizeof(Elf64_Shdr));
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_REL;
  eh.e_machine = EM_BPF;
  eh.e_version = EV_CURRENT;
  eh.e_shoff = shoff;
  eh.e_ehsize = sizeof(Elf64_Ehdr);
  eh.e_shentsize = sizeof(Elf64_Shdr);
  eh.e_shnum = static_cast<uint16_t>(secs.size());
  eh.e_shstrndx = static_cast<uint16_t>(l->strtab_sec_idx);
  std::memcpy(out.data(), &eh, sizeof(eh));
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = write(l->fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Print(LIBBPF_WARN, "libbpf: failed to write ELF contents\n");
      return -EINVAL;
    }
    done += static_cast<size_t>(n);
  }
  return 0;
}

}  // namespace

extern "C" {

void bpf_linker__free(struct bpf_linker* linker) { delete linker; }

struct bpf_linker* bpf_linker__new(const char* filename,
                                   struct bpf_linker_opts* opts) {
  if (!OptsValid(opts)) return NullErr<struct bpf_linker>(-EINVAL);
  auto* l = new bpf_linker;
  l->filename = filename;
  l->fd = ::open(filename, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (l->fd < 0) {
    const int err = -errno;
    Print(LIBBPF_WARN, "libbpf: failed to create '%s': %d\n", filename, err);
    delete l;
    return NullErr<struct bpf_linker>(err);
  }
  l->open = true;
  // .strtab (also the section name table) and .symtab, with symbol 0.
  DstSec* s = l->AddSec(".strtab");
  s->sec_idx = l->elf_sec_cnt++;
  l->strtab_sec_idx = s->sec_idx;
  s->shdr.sh_name = l->AddStr(".strtab");
  s->shdr.sh_type = SHT_STRTAB;
  s->shdr.sh_flags = SHF_STRINGS;
  s->shdr.sh_addralign = 1;
  s = l->AddSec(".symtab");
  s->sec_idx = l->elf_sec_cnt++;
  l->symtab_sec_idx = s->sec_idx;
  s->shdr.sh_name = l->AddStr(".symtab");
  s->shdr.sh_type = SHT_SYMTAB;
  s->shdr.sh_link = static_cast<uint32_t>(l->strtab_sec_idx);
  s->shdr.sh_addralign = 8;
  s->shdr.sh_entsize = sizeof(Elf64_Sym);
  l->btf = btf__new_empty();
  if (l->btf == nullptr) {
    const int err = -errno;
    delete l;
    return NullErr<struct bpf_linker>(err);
  }
  l->syms.push_back(Elf64_Sym{});
  return l;
}

int bpf_linker__add_file(struct bpf_linker* linker, const char* filename,
                         const struct bpf_linker_file_opts* opts) {
  if (!OptsValid(opts)) return LibbpfErr(-EINVAL);
  if (!linker->open) return LibbpfErr(-EINVAL);
  SrcObj obj;
  int err = LoadObj(filename, &obj);
  if (err == 0) err = AppendSecData(linker, &obj);
  if (err == 0) err = AppendSyms(linker, &obj);
  if (err == 0) err = AppendRelos(linker, &obj);
  if (err == 0) err = AppendBtf(linker, &obj);
  if (err == 0) err = AppendBtfExt(linker, &obj);
  return LibbpfErr(err);
}

int bpf_linker__finalize(struct bpf_linker* linker) {
  if (!linker->open) return LibbpfErr(-EINVAL);
  std::vector<uint8_t> btf_raw, ext_raw;
  int err = FinalizeBtf(linker, &btf_raw, &ext_raw);
  if (err != 0) return LibbpfErr(err);
  // .BTF and .BTF.ext come last; their names join the string table first.
  std::vector<OutSec> out(linker->elf_sec_cnt, OutSec{Elf64_Shdr{}, nullptr});
  auto add_blob = [&](const char* name, const std::vector<uint8_t>& blob) {
    Elf64_Shdr sh{};
    sh.sh_name = linker->AddStr(name);
    sh.sh_type = SHT_PROGBITS;
    sh.sh_size = blob.size();
    sh.sh_addralign = 8;
    out.push_back(OutSec{sh, blob.data()});
  };
  if (!btf_raw.empty()) add_blob(".BTF", btf_raw);
  if (!ext_raw.empty()) add_blob(".BTF.ext", ext_raw);
  for (size_t i = 1; i < linker->secs.size(); ++i) {
    DstSec& s = linker->secs[i];
    if (s.ephemeral || s.sec_idx == 0) continue;
    OutSec& o = out[s.sec_idx];
    o.shdr = s.shdr;
    if (s.sec_idx == linker->strtab_sec_idx) {
      o.shdr.sh_size = linker->strtab.size();
      o.data = reinterpret_cast<const uint8_t*>(linker->strtab.data());
    } else if (s.sec_idx == linker->symtab_sec_idx) {
      o.shdr.sh_size = linker->syms.size() * sizeof(Elf64_Sym);
      o.data = reinterpret_cast<const uint8_t*>(linker->syms.data());
    } else {
      o.data = s.raw.data();
    }
  }
  err = WriteElf(linker, out);
  if (err != 0) return LibbpfErr(err);
  close(linker->fd);
  linker->fd = -1;
  linker->open = false;
  return 0;
}

}  // extern "C"
