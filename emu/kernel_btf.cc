// SPDX-License-Identifier: Apache-2.0
#include "emu/kernel_btf.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <string>
#include <utility>

#include "absl/base/call_once.h"
#include "absl/container/flat_hash_map.h"

namespace bpfemu {
namespace {

// The kernel's BTF_MAX_SIZE bounds the blobs the kernel itself parses; a
// vmlinux blob is a few MiB. A larger file is refused rather than read.
constexpr size_t kMaxKernelBtf = 64u << 20;

uint32_t KindOf(const btf_type* t) { return BTF_INFO_KIND(t->info); }

// The bytes a type's record takes after struct btf_type, or -1 for an
// unknown kind (btf_type_ops' check_meta sizes).
int64_t TrailingBytes(const btf_type* t) {
  const uint64_t vlen = BTF_INFO_VLEN(t->info);
  switch (KindOf(t)) {
    case BTF_KIND_INT:
    case BTF_KIND_VAR:
    case BTF_KIND_DECL_TAG:
      return 4;
    case BTF_KIND_ARRAY:
      return sizeof(btf_array);
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION:
      return vlen * sizeof(btf_member);
    case BTF_KIND_ENUM:
      return vlen * sizeof(btf_enum);
    case BTF_KIND_ENUM64:
      return vlen * sizeof(btf_enum64);
    case BTF_KIND_FUNC_PROTO:
      return vlen * sizeof(btf_param);
    case BTF_KIND_DATASEC:
      return vlen * sizeof(btf_var_secinfo);
    case BTF_KIND_PTR:
    case BTF_KIND_FWD:
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_CONST:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_FUNC:
    case BTF_KIND_FLOAT:
    case BTF_KIND_TYPE_TAG:
      return 0;
    default:
      return -1;
  }
}

bool ReadFile(const char* path, std::vector<uint8_t>* out) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  uint8_t buf[1 << 16];
  bool ok = true;
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = n == 0;
      break;
    }
    if (out->size() + static_cast<size_t>(n) > kMaxKernelBtf) {
      ok = false;
      break;
    }
    out->insert(out->end(), buf, buf + n);
  }
  close(fd);
  return ok;
}

}  // namespace

// The (kind, name) -> lowest id index FindByNameKind builds on first use.
struct KernelBtf::NameIndex {
  absl::once_flag once;
  absl::flat_hash_map<std::pair<uint32_t, std::string_view>, uint32_t> ids;
};

KernelBtf::KernelBtf() : index_(std::make_unique<NameIndex>()) {}
KernelBtf::~KernelBtf() = default;

std::unique_ptr<KernelBtf> KernelBtf::Parse(std::vector<uint8_t> raw) {
  btf_header hdr;
  if (raw.size() < sizeof(hdr)) return nullptr;
  std::memcpy(&hdr, raw.data(), sizeof(hdr));
  if (hdr.magic != BTF_MAGIC || hdr.version != BTF_VERSION ||
      hdr.hdr_len < sizeof(hdr) || hdr.hdr_len > raw.size()) {
    return nullptr;
  }
  const uint64_t body = raw.size() - hdr.hdr_len;
  if (uint64_t{hdr.type_off} + hdr.type_len > body ||
      uint64_t{hdr.str_off} + hdr.str_len > body ||
      (hdr.hdr_len + hdr.type_off) % 4 != 0 || hdr.str_len == 0) {
    return nullptr;
  }
  std::unique_ptr<KernelBtf> btf(new KernelBtf());
  btf->raw_ = std::move(raw);
  const uint8_t* base = btf->raw_.data() + hdr.hdr_len;
  btf->types_ = base + hdr.type_off;
  btf->strs_ = reinterpret_cast<const char*>(base + hdr.str_off);
  btf->str_len_ = hdr.str_len;
  if (btf->strs_[0] != '\0' || btf->strs_[hdr.str_len - 1] != '\0') {
    return nullptr;
  }
  btf->offs_.push_back(0);  // id 0: void
  uint64_t off = 0;
  while (off < hdr.type_len) {
    if (hdr.type_len - off < sizeof(btf_type)) return nullptr;
    const auto* t = reinterpret_cast<const btf_type*>(btf->types_ + off);
    const int64_t extra = TrailingBytes(t);
    if (extra < 0 || t->name_off >= hdr.str_len) return nullptr;
    const uint64_t next = off + sizeof(btf_type) + extra;
    if (next > hdr.type_len) return nullptr;
    btf->offs_.push_back(static_cast<uint32_t>(off));
    off = next;
  }
  return btf;
}

const KernelBtf* KernelBtf::Get() {
  static const KernelBtf* btf = [] {
    const char* path = std::getenv("BPFEMU_VMLINUX_BTF");
    if (path == nullptr || *path == '\0') path = "/sys/kernel/btf/vmlinux";
    std::vector<uint8_t> raw;
    if (!ReadFile(path, &raw)) return static_cast<const KernelBtf*>(nullptr);
    return static_cast<const KernelBtf*>(Parse(std::move(raw)).release());
  }();
  return btf;
}

const btf_type* KernelBtf::Type(uint32_t id) const {
  if (id == 0 || id >= offs_.size()) return nullptr;
  return reinterpret_cast<const btf_type*>(types_ + offs_[id]);
}

uint32_t KernelBtf::Kind(uint32_t id) const {
  const btf_type* t = Type(id);
  return t == nullptr ? uint32_t{BTF_KIND_UNKN} : KindOf(t);
}

std::string_view KernelBtf::Str(uint32_t off) const {
  if (off >= str_len_) return {};
  return std::string_view(strs_ + off);  // the section ends in '\0'
}

std::string_view KernelBtf::Name(uint32_t id) const {
  const btf_type* t = Type(id);
  return t == nullptr ? std::string_view() : Str(t->name_off);
}

int32_t KernelBtf::FindByNameKind(std::string_view name, uint32_t kind) const {
  NameIndex& index = *index_;
  absl::call_once(index.once, [&] {
    for (uint32_t id = 1; id < TypeCount(); ++id) {
      const std::string_view n = Name(id);
      if (!n.empty()) index.ids.try_emplace({Kind(id), n}, id);
    }
  });
  const auto it = index.ids.find(std::make_pair(kind, name));
  return it == index.ids.end() ? -ENOENT : static_cast<int32_t>(it->second);
}

uint32_t KernelBtf::SkipModifiers(uint32_t id) const {
  // A chain longer than the type count is a loop.
  for (uint32_t steps = 0; steps < TypeCount(); ++steps) {
    const btf_type* t = Type(id);
    if (t == nullptr) return 0;
    switch (KindOf(t)) {
      case BTF_KIND_TYPEDEF:
      case BTF_KIND_VOLATILE:
      case BTF_KIND_CONST:
      case BTF_KIND_RESTRICT:
      case BTF_KIND_TYPE_TAG:
        id = t->type;
        break;
      default:
        return id;
    }
  }
  return 0;
}

int64_t KernelBtf::Size(uint32_t id) const {
  // Arrays nest; each level multiplies. Bounded like SkipModifiers.
  uint64_t mult = 1;
  for (uint32_t steps = 0; steps < TypeCount(); ++steps) {
    id = SkipModifiers(id);
    const btf_type* t = Type(id);
    if (t == nullptr) return -EINVAL;
    switch (KindOf(t)) {
      case BTF_KIND_INT:
      case BTF_KIND_ENUM:
      case BTF_KIND_ENUM64:
      case BTF_KIND_STRUCT:
      case BTF_KIND_UNION:
      case BTF_KIND_FLOAT: {
        const uint64_t size = mult * t->size;
        return size > INT32_MAX ? -EINVAL : static_cast<int64_t>(size);
      }
      case BTF_KIND_PTR:
        return static_cast<int64_t>(mult * 8) > INT32_MAX
                   ? -EINVAL
                   : static_cast<int64_t>(mult * 8);
      case BTF_KIND_ARRAY: {
        btf_array a;
        std::memcpy(&a, t + 1, sizeof(a));
        mult *= a.nelems;
        if (mult > INT32_MAX) return -EINVAL;
        id = a.type;
        break;
      }
      default:
        return -EINVAL;
    }
  }
  return -EINVAL;
}

const btf_member* KernelBtf::Members(uint32_t id, uint16_t* count) const {
  const btf_type* t = Type(id);
  *count = 0;
  if (t == nullptr ||
      (KindOf(t) != BTF_KIND_STRUCT && KindOf(t) != BTF_KIND_UNION)) {
    return nullptr;
  }
  *count = BTF_INFO_VLEN(t->info);
  return reinterpret_cast<const btf_member*>(t + 1);
}

const btf_param* KernelBtf::Params(uint32_t id, uint16_t* count) const {
  const btf_type* t = Type(id);
  *count = 0;
  if (t == nullptr || KindOf(t) != BTF_KIND_FUNC_PROTO) return nullptr;
  *count = BTF_INFO_VLEN(t->info);
  return reinterpret_cast<const btf_param*>(t + 1);
}

KernelBtf::Field KernelBtf::FindMember(uint32_t id,
                                       std::string_view name) const {
  // Anonymous members nest; the depth bound keeps a crafted cycle finite.
  struct Walker {
    const KernelBtf& btf;
    std::string_view name;
    Field Find(uint32_t id, int64_t base, int depth) const {
      const btf_type* t = btf.Type(id);
      uint16_t n = 0;
      const btf_member* m = btf.Members(id, &n);
      if (t == nullptr || m == nullptr || depth > 32) return {};
      const bool kflag = BTF_INFO_KFLAG(t->info) != 0;
      for (uint16_t i = 0; i < n; ++i) {
        const uint32_t bits =
            kflag ? BTF_MEMBER_BIT_OFFSET(m[i].offset) : m[i].offset;
        const std::string_view member = btf.Str(m[i].name_off);
        if (member.empty()) {
          const Field f =
              Find(btf.SkipModifiers(m[i].type), base + bits / 8, depth + 1);
          if (f.offset >= 0) return f;
          continue;
        }
        if (member != name) continue;
        const int64_t size = btf.Size(m[i].type);
        if ((kflag && BTF_MEMBER_BITFIELD_SIZE(m[i].offset) != 0) ||
            bits % 8 != 0 || size <= 0) {
          return {};
        }
        return {base + bits / 8, static_cast<uint32_t>(size), m[i].type};
      }
      return {};
    }
  };
  return Walker{*this, name}.Find(SkipModifiers(id), 0, 0);
}

namespace {

// kernel/bpf/btf.c btf_kind_str[] (btf_type_str).
const char* KindStr(uint32_t kind) {
  static constexpr const char* kNames[] = {
      "UNKNOWN", "INT",      "PTR",      "ARRAY",      "STRUCT",
      "UNION",   "ENUM",     "FWD",      "TYPEDEF",    "VOLATILE",
      "CONST",   "RESTRICT", "FUNC",     "FUNC_PROTO", "VAR",
      "DATASEC", "FLOAT",    "DECL_TAG", "TYPE_TAG",   "ENUM64"};
  return kind < std::size(kNames) ? kNames[kind] : "UNKNOWN";
}

// kernel/bpf/btf.c __get_type_size(): the byte size of `id` after its
// modifiers when it is passed in registers (a pointer 8, an int, enum or
// struct its size; void 0), or -EINVAL; *kind is the kind it ended at
// (BTF_KIND_UNKN for void and bad ids).
int64_t TypeSizeForModel(const KernelBtf& btf, uint32_t id, uint32_t* kind) {
  *kind = BTF_KIND_UNKN;
  if (id == 0) return 0;
  const uint32_t t = btf.SkipModifiers(id);
  if (t == 0) return -EINVAL;  // void behind a modifier, or a bad id
  *kind = btf.Kind(t);
  switch (*kind) {
    case BTF_KIND_PTR:
      return 8;  // the kernel's pointer, not BPF's
    case BTF_KIND_INT:
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64:
    case BTF_KIND_STRUCT:
      return btf.Type(t)->size;
    default:
      return -EINVAL;
  }
}

// __get_type_fmodel_flags().
uint8_t FmodelFlags(const KernelBtf& btf, uint32_t id, uint32_t kind) {
  if (kind == BTF_KIND_STRUCT) return BtfFuncModel::kStructArg;
  if (kind == BTF_KIND_INT &&
      (BTF_INT_ENCODING(*reinterpret_cast<const uint32_t*>(
           btf.Type(btf.SkipModifiers(id)) + 1)) &
       BTF_INT_SIGNED)) {
    return BtfFuncModel::kSignedArg;
  }
  return 0;
}

}  // namespace

int DistillFuncProto(const KernelBtf& btf, uint32_t proto,
                     std::string_view name, BtfFuncModel* m, std::string* log) {
  const auto refuse = [&](const std::string& line) {
    if (log != nullptr) *log += line + "\n";
    return -EINVAL;
  };
  const std::string fn(name);
  uint16_t nargs = 0;
  const btf_param* args = btf.Params(proto, &nargs);
  if (nargs > BtfFuncModel::kMaxArgs) {
    return refuse("The function " + fn + " has " + std::to_string(nargs) +
                  " arguments. Too many.");
  }
  uint32_t kind = BTF_KIND_UNKN;
  const int64_t ret = TypeSizeForModel(btf, btf.Type(proto)->type, &kind);
  if (ret < 0 || kind == BTF_KIND_STRUCT) {
    return refuse("The function " + fn + " return type " + KindStr(kind) +
                  " is unsupported.");
  }
  m->ret_size = static_cast<uint8_t>(ret);
  m->ret_flags = FmodelFlags(btf, btf.Type(proto)->type, kind);
  for (uint16_t i = 0; i < nargs; ++i) {
    if (i == nargs - 1 && args[i].type == 0) {
      return refuse("The function " + fn +
                    " with variable args is unsupported.");
    }
    const int64_t size = TypeSizeForModel(btf, args[i].type, &kind);
    // No struct passed by value of more than 16 bytes.
    if (size < 0 || size > 16) {
      return refuse("The function " + fn + " arg" + std::to_string(i) +
                    " type " + KindStr(kind) + " is unsupported.");
    }
    if (size == 0) {
      return refuse("The function " + fn + " has malformed void argument.");
    }
    m->arg_size[i] = static_cast<uint8_t>(size);
    m->arg_flags[i] = FmodelFlags(btf, args[i].type, kind);
  }
  m->nr_args = static_cast<uint8_t>(nargs);
  return 0;
}

}  // namespace bpfemu
