// SPDX-License-Identifier: Apache-2.0
// libbpf's BTF API (tools/lib/bpf/btf.c, libbpf 1.1.2: bpf/btf.h) over the
// shared BTF model (loader/btf.h) and the emulator's BTF objects
// (emu/btf.h): parsing raw and ELF BTF, type queries, the builder
// (btf__add_*), btf__dedup (compat/btf_dedup.cc), loading into the emulator,
// reading loaded BTF back by id, and the BTF.ext container.
//
// Conventions as libbpf's: calls returning int give the result or -errno
// with errno set; constructors return NULL with errno set (libbpf 1.x's
// strict mode, where libbpf_get_error() reads errno).

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/btf.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "compat/btf_dedup.h"
#include "compat/btf_fields.h"
#include "compat/libbpf_conventions.h"
#include "compat/libbpf_internal.h"
#include "emu/btf.h"
#include "emu/syscall.h"
#include "loader/btf.h"
#include "loader/core_relo.h"

using bpfemu::compat::ForEachStrOff;
using bpfemu::compat::ForEachTypeId;
using bpfemu::compat::GoodBtfFd;
using bpfemu::compat::LibbpfErr;
using bpfemu::compat::OptsValid;
using bpfemu::native::BtfData;
using bpfemu::native::BtfKflag;
using bpfemu::native::BtfKind;
using bpfemu::native::BtfVlen;

struct btf {
  std::unique_ptr<BtfData> d;
  struct btf* base = nullptr;
  int fd = -1;
  std::vector<uint8_t> raw;  // btf__raw_data()'s buffer
  bool big_endian = false;
  // btf_ensure_modifiable() has run; the string section is known unique
  // (libbpf's strs_deduped: btf__dedup then keeps it as it is).
  bool modifiable = false;
  bool strs_deduped = false;
};

struct btf_ext {
  std::vector<uint8_t> data;
};

namespace {

template <typename T>
T* NullErr(int err) {
  errno = -err;
  return nullptr;
}

uint32_t Info(uint32_t kind, uint32_t vlen, bool kflag) {
  return (kflag ? 1u << 31 : 0) | (kind << 24) | (vlen & 0xffff);
}

bool ReadFile(const char* path, std::vector<uint8_t>* out, int* err) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    *err = errno != 0 ? -errno : -ENOENT;
    return false;
  }
  out->assign(std::istreambuf_iterator<char>(f),
              std::istreambuf_iterator<char>());
  return true;
}

struct btf* Wrap(std::unique_ptr<BtfData> d, struct btf* base) {
  auto* b = new struct btf;
  b->d = std::move(d);
  b->base = base;
  return b;
}

struct btf* NewRaw(const void* data, size_t size, struct btf* base, int* err) {
  std::unique_ptr<BtfData> d;
  *err = BtfData::Parse(
      absl::MakeConstSpan(static_cast<const uint8_t*>(data), size),
      base != nullptr ? base->d.get() : nullptr, &d);
  if (*err != 0) return nullptr;
  return Wrap(std::move(d), base);
}

struct btf* ParseRaw(const char* path, struct btf* base) {
  std::vector<uint8_t> data;
  int err = 0;
  if (!ReadFile(path, &data, &err)) return NullErr<struct btf>(err);
  struct btf* b = NewRaw(data.data(), data.size(), base, &err);
  return b != nullptr ? b : NullErr<struct btf>(err);
}

struct btf* ParseElf(const char* path, struct btf* base, struct btf_ext** ext) {
  std::vector<uint8_t> data;
  int err = 0;
  if (!ReadFile(path, &data, &err)) return NullErr<struct btf>(err);
  absl::Span<const uint8_t> sec;
  if (!BtfData::ElfSection(data, ".BTF", &sec)) {
    return NullErr<struct btf>(-ENOENT);
  }
  struct btf* b = NewRaw(sec.data(), sec.size(), base, &err);
  if (b == nullptr) return NullErr<struct btf>(err);
  if (ext != nullptr) {
    *ext = nullptr;
    absl::Span<const uint8_t> e;
    if (BtfData::ElfSection(data, ".BTF.ext", &e)) {
      *ext = btf_ext__new(e.data(), static_cast<__u32>(e.size()));
      if (*ext == nullptr) {
        const int saved = errno;
        btf__free(b);
        return NullErr<struct btf>(-saved);
      }
    }
  }
  return b;
}

// btf_ensure_modifiable(): parsed BTF becomes writable (a cached raw blob
// goes stale); a string section holding only "" (nothing when split) at
// that moment can only grow by unique strings.
void Modified(struct btf* b) {
  if (!b->modifiable) {
    b->modifiable = true;
    const size_t n = b->d->own_strings().size();
    b->strs_deduped = n == 0 || (b->base == nullptr && n == 1);
  }
  b->raw.clear();
}

// validate_type_id().
bool IdOk(int id) { return id >= 0; }

int AddName(struct btf* b, const char* name, uint32_t* off) {
  *off = 0;
  if (name == nullptr || name[0] == '\0') return 0;
  Modified(b);
  const int o = b->d->AddStr(name);
  if (o < 0) return o;
  *off = static_cast<uint32_t>(o);
  return 0;
}

int AddSimple(struct btf* b, const char* name, uint32_t kind, uint32_t vlen,
              bool kflag, uint32_t size_or_type) {
  uint32_t name_off;
  if (int err = AddName(b, name, &name_off); err != 0) return err;
  Modified(b);
  btf_type t = {};
  t.name_off = name_off;
  t.info = Info(kind, vlen, kflag);
  t.size = size_or_type;
  return static_cast<int>(b->d->AddType(&t, sizeof(t)));
}

// The last type, if it has `kind` (or one of two kinds).
btf_type* LastOf(struct btf* b, uint32_t k1, uint32_t k2) {
  if (b->d->TypeCnt() <= b->d->start_id()) return nullptr;
  btf_type* t = b->d->MutableType(b->d->TypeCnt() - 1);
  if (t == nullptr) return nullptr;
  return BtfKind(t) == k1 || BtfKind(t) == k2 ? t : nullptr;
}

bool Empty(const char* s) { return s == nullptr || s[0] == '\0'; }

}  // namespace

namespace bpfemu::compat {

int GoodBtfFd(int fd) {
  if (fd >= 0 && fd < 3) {
    const int copy = bpfemu::DupBtfFd(fd, 3);
    bpfemu::CloseFd(fd);
    return copy;
  }
  return fd;
}

const bpfemu::native::BtfData* BtfDataOf(const struct btf* btf) {
  return btf->d.get();
}
}  // namespace bpfemu::compat

extern "C" {

void btf__free(struct btf* btf) {
  if (btf == nullptr) return;
  if (btf->fd >= 0) bpfemu::CloseFd(btf->fd);
  delete btf;
}

struct btf* btf__new(const void* data, __u32 size) {
  if (data == nullptr) return NullErr<struct btf>(-EINVAL);
  int err = 0;
  struct btf* b = NewRaw(data, size, nullptr, &err);
  return b != nullptr ? b : NullErr<struct btf>(err);
}

struct btf* btf__new_split(const void* data, __u32 size, struct btf* base_btf) {
  if (data == nullptr) return NullErr<struct btf>(-EINVAL);
  int err = 0;
  struct btf* b = NewRaw(data, size, base_btf, &err);
  return b != nullptr ? b : NullErr<struct btf>(err);
}

struct btf* btf__new_empty(void) {
  return Wrap(std::make_unique<BtfData>(nullptr), nullptr);
}

struct btf* btf__new_empty_split(struct btf* base_btf) {
  if (base_btf == nullptr) return btf__new_empty();
  return Wrap(std::make_unique<BtfData>(base_btf->d.get()), base_btf);
}

struct btf* btf__parse_raw(const char* path) {
  return ParseRaw(path, nullptr);
}

struct btf* btf__parse_raw_split(const char* path, struct btf* base_btf) {
  return ParseRaw(path, base_btf);
}

struct btf* btf__parse_elf(const char* path, struct btf_ext** btf_ext) {
  return ParseElf(path, nullptr, btf_ext);
}

struct btf* btf__parse_elf_split(const char* path, struct btf* base_btf) {
  return ParseElf(path, base_btf, nullptr);
}

// btf_parse(): raw BTF first; data that is not BTF (EPROTO) is tried as ELF.
struct btf* btf__parse(const char* path, struct btf_ext** btf_ext) {
  if (btf_ext != nullptr) *btf_ext = nullptr;
  struct btf* b = ParseRaw(path, nullptr);
  if (b != nullptr || errno != EPROTO) return b;
  return ParseElf(path, nullptr, btf_ext);
}

struct btf* btf__parse_split(const char* path, struct btf* base_btf) {
  struct btf* b = ParseRaw(path, base_btf);
  if (b != nullptr || errno != EPROTO) return b;
  return ParseElf(path, base_btf, nullptr);
}

__u32 btf__type_cnt(const struct btf* btf) { return btf->d->TypeCnt(); }

const struct btf* btf__base_btf(const struct btf* btf) { return btf->base; }

const struct btf_type* btf__type_by_id(const struct btf* btf, __u32 id) {
  const btf_type* t = btf->d->Type(id);
  if (t == nullptr) return NullErr<const btf_type>(-EINVAL);
  return t;
}

size_t btf__pointer_size(const struct btf* btf) { return btf->d->ptr_size(); }

int btf__set_pointer_size(struct btf* btf, size_t ptr_sz) {
  if (ptr_sz != 4 && ptr_sz != 8) return LibbpfErr(-EINVAL);
  btf->d->set_ptr_size(ptr_sz);
  return 0;
}

enum btf_endianness btf__endianness(const struct btf* btf) {
  return btf->big_endian ? BTF_BIG_ENDIAN : BTF_LITTLE_ENDIAN;
}

// Only the host's byte order is written (libbpf can write the other).
int btf__set_endianness(struct btf* btf, enum btf_endianness endian) {
  if (endian != BTF_LITTLE_ENDIAN && endian != BTF_BIG_ENDIAN) {
    return LibbpfErr(-EINVAL);
  }
  if (endian == BTF_BIG_ENDIAN) return LibbpfErr(-EOPNOTSUPP);
  btf->big_endian = false;
  return 0;
}

__s64 btf__resolve_size(const struct btf* btf, __u32 type_id) {
  const int64_t r = btf->d->ResolveSize(type_id);
  if (r < 0) errno = static_cast<int>(-r);
  return r;
}

int btf__resolve_type(const struct btf* btf, __u32 type_id) {
  return LibbpfErr(btf->d->ResolveType(type_id));
}

int btf__align_of(const struct btf* btf, __u32 id) {
  int err = 0;
  const int a = btf->d->AlignOf(id, &err);
  if (err != 0) errno = -err;
  return a;
}

__s32 btf__find_by_name(const struct btf* btf, const char* type_name) {
  return LibbpfErr(btf->d->FindByName(type_name));
}

__s32 btf__find_by_name_kind(const struct btf* btf, const char* type_name,
                             __u32 kind) {
  return LibbpfErr(btf->d->FindByNameKind(type_name, kind));
}

const char* btf__str_by_offset(const struct btf* btf, __u32 offset) {
  const char* s = btf->d->Str(offset);
  if (s == nullptr) errno = EINVAL;
  return s;
}

const char* btf__name_by_offset(const struct btf* btf, __u32 offset) {
  return btf__str_by_offset(btf, offset);
}

int btf__find_str(struct btf* btf, const char* s) {
  if (s == nullptr) return LibbpfErr(-EINVAL);
  return LibbpfErr(btf->d->FindStr(s));
}

const void* btf__raw_data(const struct btf* btf_ro, __u32* size) {
  auto* b = const_cast<struct btf*>(btf_ro);
  if (b->raw.empty()) b->raw = b->d->Raw();
  *size = static_cast<__u32>(b->raw.size());
  return b->raw.data();
}

const void* btf__get_raw_data(const struct btf* btf, __u32* size) {
  return btf__raw_data(btf, size);
}

int btf__fd(const struct btf* btf) { return btf->fd; }

void btf__set_fd(struct btf* btf, int fd) { btf->fd = fd; }

int bpf_btf_load(const void* btf_data, size_t btf_size,
                 const struct bpf_btf_load_opts* opts) {
  if (!OptsValid(opts)) return LibbpfErr(-EINVAL);
  if (btf_size > UINT32_MAX) return LibbpfErr(-E2BIG);
  bpfemu::BtfLoadAttr a;
  a.btf = btf_data;
  a.btf_size = static_cast<uint32_t>(btf_size);
  a.log_buf = BPFEMU_OPTS_GET(opts, log_buf, static_cast<char*>(nullptr));
  a.log_level = BPFEMU_OPTS_GET(opts, log_level, 0u);
  a.log_size = BPFEMU_OPTS_GET(opts, log_size, 0u);
  if (a.log_size != 0 && a.log_buf == nullptr) return LibbpfErr(-EINVAL);
  return LibbpfErr(GoodBtfFd(bpfemu::BtfLoad(a)));
}

// btf_load_into_kernel(): the raw blob into an emulated BTF object; the fd
// is kept (btf__fd) and closed by btf__free.
int btf__load_into_kernel(struct btf* btf) {
  if (btf->fd >= 0) return LibbpfErr(-EEXIST);
  __u32 size = 0;
  const void* raw = btf__raw_data(btf, &size);
  const int fd = bpf_btf_load(raw, size, nullptr);
  if (fd < 0) {
    // libbpf retries with a log to print the verifier's reason.
    char log[4096] = {};
    LIBBPF_OPTS(bpf_btf_load_opts, o, .log_buf = log, .log_level = 1,
                .log_size = sizeof(log));
    bpf_btf_load(raw, size, &o);
    std::fprintf(stderr, "libbpf: Error loading BTF: %s(%d)\n%s\n",
                 std::strerror(-fd), fd, log);
    return LibbpfErr(fd);
  }
  btf->fd = fd;
  return 0;
}

struct btf* btf__load_from_kernel_by_id_split(__u32 id, struct btf* base_btf) {
  const int fd = bpfemu::BtfGetFdById(id);
  if (fd < 0) return NullErr<struct btf>(fd);
  std::vector<uint8_t> raw;
  uint32_t got_id = 0;
  const int err = bpfemu::BtfRawFromFd(fd, &raw, &got_id);
  bpfemu::CloseFd(fd);
  if (err != 0) return NullErr<struct btf>(err);
  int perr = 0;
  struct btf* b = NewRaw(raw.data(), raw.size(), base_btf, &perr);
  return b != nullptr ? b : NullErr<struct btf>(perr);
}

struct btf* btf__load_from_kernel_by_id(__u32 id) {
  return btf__load_from_kernel_by_id_split(id, nullptr);
}

// The running kernel's BTF: /sys/kernel/btf is world-readable.
struct btf* btf__load_vmlinux_btf(void) {
  return btf__parse("/sys/kernel/btf/vmlinux", nullptr);
}

struct btf* libbpf_find_kernel_btf(void) {
  return btf__load_vmlinux_btf();
}

struct btf* btf__load_module_btf(const char* module_name,
                                 struct btf* vmlinux_btf) {
  const std::string path = std::string("/sys/kernel/btf/") + module_name;
  return btf__parse_split(path.c_str(), vmlinux_btf);
}

// --- the builder ------------------------------------------------------------

int btf__add_str(struct btf* btf, const char* s) {
  if (s == nullptr) return LibbpfErr(-EINVAL);
  Modified(btf);
  return LibbpfErr(btf->d->AddStr(s));
}

int btf__add_int(struct btf* btf, const char* name, size_t byte_sz,
                 int encoding) {
  if (Empty(name)) return LibbpfErr(-EINVAL);
  if (byte_sz != 1 && byte_sz != 2 && byte_sz != 4 && byte_sz != 8 &&
      byte_sz != 16) {
    return LibbpfErr(-EINVAL);
  }
  if (encoding & ~(BTF_INT_SIGNED | BTF_INT_CHAR | BTF_INT_BOOL)) {
    return LibbpfErr(-EINVAL);
  }
  const int id = AddSimple(btf, name, BTF_KIND_INT, 0, false,
                           static_cast<uint32_t>(byte_sz));
  if (id < 0) return LibbpfErr(id);
  const uint32_t data = (static_cast<uint32_t>(encoding) << 24) | (byte_sz * 8);
  btf->d->AppendToLast(&data, sizeof(data));
  return id;
}

int btf__add_float(struct btf* btf, const char* name, size_t byte_sz) {
  if (Empty(name)) return LibbpfErr(-EINVAL);
  if (byte_sz != 2 && byte_sz != 4 && byte_sz != 8 && byte_sz != 12 &&
      byte_sz != 16) {
    return LibbpfErr(-EINVAL);
  }
  return LibbpfErr(AddSimple(btf, name, BTF_KIND_FLOAT, 0, false,
                             static_cast<uint32_t>(byte_sz)));
}

static int AddRef(struct btf* btf, uint32_t kind, const char* name,
                  int ref_type_id) {
  if (!IdOk(ref_type_id)) return LibbpfErr(-EINVAL);
  return LibbpfErr(
      AddSimple(btf, name, kind, 0, false, static_cast<uint32_t>(ref_type_id)));
}

int btf__add_ptr(struct btf* btf, int ref_type_id) {
  return AddRef(btf, BTF_KIND_PTR, nullptr, ref_type_id);
}

int btf__add_array(struct btf* btf, int index_type_id, int elem_type_id,
                   __u32 nr_elems) {
  if (!IdOk(index_type_id) || !IdOk(elem_type_id)) return LibbpfErr(-EINVAL);
  const int id = AddSimple(btf, nullptr, BTF_KIND_ARRAY, 0, false, 0);
  if (id < 0) return LibbpfErr(id);
  struct btf_array a = {static_cast<__u32>(elem_type_id),
                        static_cast<__u32>(index_type_id), nr_elems};
  btf->d->AppendToLast(&a, sizeof(a));
  return id;
}

int btf__add_struct(struct btf* btf, const char* name, __u32 sz) {
  return LibbpfErr(AddSimple(btf, name, BTF_KIND_STRUCT, 0, false, sz));
}

int btf__add_union(struct btf* btf, const char* name, __u32 sz) {
  return LibbpfErr(AddSimple(btf, name, BTF_KIND_UNION, 0, false, sz));
}

int btf__add_field(struct btf* btf, const char* name, int field_type_id,
                   __u32 bit_offset, __u32 bit_size) {
  btf_type* t = LastOf(btf, BTF_KIND_STRUCT, BTF_KIND_UNION);
  if (t == nullptr) return LibbpfErr(-EINVAL);
  if (!IdOk(field_type_id)) return LibbpfErr(-EINVAL);
  const bool is_bitfield = bit_size != 0 || bit_offset % 8 != 0;
  if (is_bitfield &&
      (bit_size == 0 || bit_size > 255 || bit_offset > 0xffffff)) {
    return LibbpfErr(-EINVAL);
  }
  if (BtfKind(t) == BTF_KIND_UNION && bit_offset != 0) {
    return LibbpfErr(-EINVAL);
  }
  uint32_t name_off;
  if (int err = AddName(btf, name, &name_off); err != 0) return LibbpfErr(err);
  Modified(btf);
  btf_member m = {name_off, static_cast<__u32>(field_type_id),
                  bit_offset | (bit_size << 24)};
  t = btf->d->MutableType(btf->d->TypeCnt() - 1);
  t->info = Info(BtfKind(t), BtfVlen(t) + 1, is_bitfield || BtfKflag(t));
  btf->d->AppendToLast(&m, sizeof(m));
  return 0;
}

int btf__add_enum(struct btf* btf, const char* name, __u32 bytes_sz) {
  if (bytes_sz == 0 || bytes_sz > 8 || (bytes_sz & (bytes_sz - 1))) {
    return LibbpfErr(-EINVAL);
  }
  return LibbpfErr(AddSimple(btf, name, BTF_KIND_ENUM, 0, false, bytes_sz));
}

int btf__add_enum_value(struct btf* btf, const char* name, __s64 value) {
  btf_type* t = LastOf(btf, BTF_KIND_ENUM, BTF_KIND_ENUM);
  if (t == nullptr || Empty(name)) return LibbpfErr(-EINVAL);
  if (value < INT_MIN || value > UINT_MAX) return LibbpfErr(-E2BIG);
  uint32_t name_off;
  if (int err = AddName(btf, name, &name_off); err != 0) return LibbpfErr(err);
  Modified(btf);
  struct btf_enum e = {name_off, static_cast<__s32>(value)};
  t = btf->d->MutableType(btf->d->TypeCnt() - 1);
  t->info = Info(BTF_KIND_ENUM, BtfVlen(t) + 1, BtfKflag(t) || value < 0);
  btf->d->AppendToLast(&e, sizeof(e));
  return 0;
}

int btf__add_enum64(struct btf* btf, const char* name, __u32 bytes_sz,
                    bool is_signed) {
  if (bytes_sz == 0 || bytes_sz > 8 || (bytes_sz & (bytes_sz - 1))) {
    return LibbpfErr(-EINVAL);
  }
  return LibbpfErr(
      AddSimple(btf, name, BTF_KIND_ENUM64, 0, is_signed, bytes_sz));
}

int btf__add_enum64_value(struct btf* btf, const char* name, __u64 value) {
  btf_type* t = LastOf(btf, BTF_KIND_ENUM64, BTF_KIND_ENUM64);
  if (t == nullptr || Empty(name)) return LibbpfErr(-EINVAL);
  uint32_t name_off;
  if (int err = AddName(btf, name, &name_off); err != 0) return LibbpfErr(err);
  Modified(btf);
  struct btf_enum64 e = {name_off, static_cast<__u32>(value),
                         static_cast<__u32>(value >> 32)};
  t = btf->d->MutableType(btf->d->TypeCnt() - 1);
  t->info = Info(BTF_KIND_ENUM64, BtfVlen(t) + 1, BtfKflag(t));
  btf->d->AppendToLast(&e, sizeof(e));
  return 0;
}

int btf__add_fwd(struct btf* btf, const char* name,
                 enum btf_fwd_kind fwd_kind) {
  if (Empty(name)) return LibbpfErr(-EINVAL);
  switch (fwd_kind) {
    case BTF_FWD_STRUCT:
    case BTF_FWD_UNION:
      return LibbpfErr(
          AddSimple(btf, name, BTF_KIND_FWD, 0, fwd_kind == BTF_FWD_UNION, 0));
    case BTF_FWD_ENUM:
      // An enum forward is an empty enum of int's size.
      return btf__add_enum(btf, name, sizeof(int));
  }
  return LibbpfErr(-EINVAL);
}

int btf__add_typedef(struct btf* btf, const char* name, int ref_type_id) {
  if (Empty(name)) return LibbpfErr(-EINVAL);
  return AddRef(btf, BTF_KIND_TYPEDEF, name, ref_type_id);
}

int btf__add_volatile(struct btf* btf, int ref_type_id) {
  return AddRef(btf, BTF_KIND_VOLATILE, nullptr, ref_type_id);
}

int btf__add_const(struct btf* btf, int ref_type_id) {
  return AddRef(btf, BTF_KIND_CONST, nullptr, ref_type_id);
}

int btf__add_restrict(struct btf* btf, int ref_type_id) {
  return AddRef(btf, BTF_KIND_RESTRICT, nullptr, ref_type_id);
}

int btf__add_type_tag(struct btf* btf, const char* value, int ref_type_id) {
  if (Empty(value)) return LibbpfErr(-EINVAL);
  return AddRef(btf, BTF_KIND_TYPE_TAG, value, ref_type_id);
}

int btf__add_func(struct btf* btf, const char* name,
                  enum btf_func_linkage linkage, int proto_type_id) {
  if (Empty(name)) return LibbpfErr(-EINVAL);
  if (linkage != BTF_FUNC_STATIC && linkage != BTF_FUNC_GLOBAL &&
      linkage != BTF_FUNC_EXTERN) {
    return LibbpfErr(-EINVAL);
  }
  if (!IdOk(proto_type_id)) return LibbpfErr(-EINVAL);
  return LibbpfErr(AddSimple(btf, name, BTF_KIND_FUNC,
                             static_cast<uint32_t>(linkage), false,
                             static_cast<uint32_t>(proto_type_id)));
}

int btf__add_func_proto(struct btf* btf, int ret_type_id) {
  return AddRef(btf, BTF_KIND_FUNC_PROTO, nullptr, ret_type_id);
}

int btf__add_func_param(struct btf* btf, const char* name, int type_id) {
  btf_type* t = LastOf(btf, BTF_KIND_FUNC_PROTO, BTF_KIND_FUNC_PROTO);
  if (t == nullptr || !IdOk(type_id)) return LibbpfErr(-EINVAL);
  uint32_t name_off;
  if (int err = AddName(btf, name, &name_off); err != 0) return LibbpfErr(err);
  Modified(btf);
  btf_param p = {name_off, static_cast<__u32>(type_id)};
  t = btf->d->MutableType(btf->d->TypeCnt() - 1);
  t->info = Info(BTF_KIND_FUNC_PROTO, BtfVlen(t) + 1, false);
  btf->d->AppendToLast(&p, sizeof(p));
  return 0;
}

int btf__add_var(struct btf* btf, const char* name, int linkage, int type_id) {
  if (Empty(name)) return LibbpfErr(-EINVAL);
  if (linkage != BTF_VAR_STATIC && linkage != BTF_VAR_GLOBAL_ALLOCATED &&
      linkage != BTF_VAR_GLOBAL_EXTERN) {
    return LibbpfErr(-EINVAL);
  }
  if (!IdOk(type_id)) return LibbpfErr(-EINVAL);
  const int id = AddSimple(btf, name, BTF_KIND_VAR, 0, false,
                           static_cast<uint32_t>(type_id));
  if (id < 0) return LibbpfErr(id);
  struct btf_var v = {static_cast<__u32>(linkage)};
  btf->d->AppendToLast(&v, sizeof(v));
  return id;
}

int btf__add_datasec(struct btf* btf, const char* name, __u32 byte_sz) {
  if (Empty(name)) return LibbpfErr(-EINVAL);
  return LibbpfErr(AddSimple(btf, name, BTF_KIND_DATASEC, 0, false, byte_sz));
}

int btf__add_datasec_var_info(struct btf* btf, int var_type_id, __u32 offset,
                              __u32 byte_sz) {
  btf_type* t = LastOf(btf, BTF_KIND_DATASEC, BTF_KIND_DATASEC);
  if (t == nullptr || !IdOk(var_type_id)) return LibbpfErr(-EINVAL);
  Modified(btf);
  btf_var_secinfo v = {static_cast<__u32>(var_type_id), offset, byte_sz};
  t->info = Info(BTF_KIND_DATASEC, BtfVlen(t) + 1, false);
  btf->d->AppendToLast(&v, sizeof(v));
  return 0;
}

int btf__add_decl_tag(struct btf* btf, const char* value, int ref_type_id,
                      int component_idx) {
  if (Empty(value) || component_idx < -1 || !IdOk(ref_type_id)) {
    return LibbpfErr(-EINVAL);
  }
  const int id = AddSimple(btf, value, BTF_KIND_DECL_TAG, 0, false,
                           static_cast<uint32_t>(ref_type_id));
  if (id < 0) return LibbpfErr(id);
  struct btf_decl_tag d = {component_idx};
  btf->d->AppendToLast(&d, sizeof(d));
  return id;
}

}  // extern "C"

namespace {

// Copies `src`'s type `id` into `dst` with its strings re-added and its
// type ids passed through `map_id`: the new id or -errno.
template <typename MapId>
int CopyType(struct btf* dst, const struct btf* src, uint32_t id,
             MapId map_id) {
  const btf_type* t = src->d->Type(id);
  if (t == nullptr || id == 0) return -EINVAL;
  const size_t size = BtfData::TypeSize(t);
  if (size == 0) return -EINVAL;
  std::vector<uint8_t> copy(reinterpret_cast<const uint8_t*>(t),
                            reinterpret_cast<const uint8_t*>(t) + size);
  auto* ct = reinterpret_cast<btf_type*>(copy.data());
  int err = 0;
  Modified(dst);
  ForEachStrOff(ct, [&](__u32* off) {
    if (err != 0 || *off == 0) return;
    const char* s = src->d->Str(*off);
    if (s == nullptr) {
      err = -EINVAL;
      return;
    }
    const int o = dst->d->AddStr(s);
    if (o < 0) err = o;
    *off = static_cast<__u32>(o);
  });
  if (err != 0) return err;
  ForEachTypeId(ct, map_id);
  Modified(dst);
  return static_cast<int>(dst->d->AddType(copy.data(), copy.size()));
}

}  // namespace

extern "C" {

// Type ids are kept as they are (libbpf: the caller remaps them).
int btf__add_type(struct btf* btf, const struct btf* src_btf,
                  const struct btf_type* src_type) {
  for (uint32_t id = 1; id < src_btf->d->TypeCnt(); ++id) {
    if (src_btf->d->Type(id) == src_type) {
      return LibbpfErr(CopyType(btf, src_btf, id, [](__u32*) {}));
    }
  }
  return LibbpfErr(-EINVAL);
}

// Appends all of src's own types, their ids shifted past ours: the id of
// the first one.
int btf__add_btf(struct btf* btf, const struct btf* src_btf) {
  if (src_btf->base != nullptr) return LibbpfErr(-ENOTSUP);
  const uint32_t shift = btf->d->TypeCnt() - 1;
  const int first = static_cast<int>(btf->d->TypeCnt());
  for (uint32_t id = 1; id < src_btf->d->TypeCnt(); ++id) {
    const int r = CopyType(btf, src_btf, id, [&](__u32* tid) {
      if (*tid != 0) *tid += shift;
    });
    if (r < 0) return LibbpfErr(r);
  }
  return first;
}

// btf__dedup(): libbpf 1.1.2's algorithm (compat/btf_dedup.cc), the
// .BTF.ext's strings and type ids following.
int btf__dedup(struct btf* btf, const struct btf_dedup_opts* opts) {
  if (!OptsValid(opts)) return LibbpfErr(-EINVAL);
  Modified(btf);
  struct btf_ext* ext = BPFEMU_OPTS_GET(opts, btf_ext, nullptr);
  std::unique_ptr<BtfData> out;
  const int err =
      bpfemu::compat::DedupBtf(*btf->d, btf->strs_deduped,
                               BPFEMU_OPTS_GET(opts, force_collisions, false),
                               ext != nullptr ? &ext->data : nullptr, &out);
  if (err != 0) return LibbpfErr(err);
  btf->d = std::move(out);
  btf->strs_deduped = true;
  return 0;
}

// --- BTF.ext ----------------------------------------------------------------

// btf_ext__new(): the .BTF.ext blob behind libbpf's checks of its header
// and its func_info, line_info and core_relo subsections
// (loader/core_relo.h ParseBtfExt, the loader's own reader).
struct btf_ext* btf_ext__new(const __u8* data, __u32 size) {
  if (data == nullptr) return NullErr<struct btf_ext>(-EINVAL);
  bpfemu::native::BtfExt parsed;
  if (int err =
          bpfemu::native::ParseBtfExt(absl::MakeConstSpan(data, size), &parsed);
      err != 0) {
    return NullErr<struct btf_ext>(err);
  }
  auto* e = new struct btf_ext;
  e->data.assign(data, data + size);
  return e;
}

void btf_ext__free(struct btf_ext* btf_ext) { delete btf_ext; }

const void* btf_ext__get_raw_data(const struct btf_ext* btf_ext, __u32* size) {
  *size = static_cast<__u32>(btf_ext->data.size());
  return btf_ext->data.data();
}

}  // extern "C"
