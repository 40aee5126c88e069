// SPDX-License-Identifier: Apache-2.0
// The SYSCALL program helpers and bpf_snprintf (native/syscall_helpers.h):
// kernel/bpf/syscall.c bpf_sys_bpf, __sys_bpf's attr rules, bpf_sys_close,
// bpf_kallsyms_lookup_name; kernel/bpf/btf.c bpf_btf_find_by_name_kind;
// kernel/bpf/helpers.c bpf_bprintf_prepare and bpf_snprintf with the
// conversions of lib/vsprintf.c that bstr_printf makes of what it accepts.
// docs/semantics.md (SYSCALL programs, bpf_snprintf) says what differs.

#include "native/syscall_helpers.h"

#include <linux/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <string_view>

#include "emu/bpf_attr.h"
#include "emu/btf.h"
#include "emu/kernel_btf.h"
#include "emu/map.h"
#include "emu/prog.h"
#include "emu/stream.h"
#include "emu/syscall.h"
#include "emu/trampoline.h"
#include "emu/version.h"
#include "native/include/bpfemu/native_abi.h"

namespace bpfemu::native {
namespace {

// --- bpf_bprintf_prepare / bstr_printf ---

constexpr long kMaxBinArgs = 512;  // MAX_BPRINTF_BIN_ARGS

// The kernel's ctype (lib/ctype.c: Latin-1 above 0x7f).
bool KIsSpace(unsigned char c) {
  return (c >= 9 && c <= 13) || c == ' ' || c == 0xa0;
}
bool KIsPunct(unsigned char c) {
  if (c < 0x80) return std::ispunct(c) != 0;
  return (c >= 0xa1 && c <= 0xbf) || c == 0xd7 || c == 0xf7;
}
bool KIsPrint(unsigned char c) { return c >= 0x20 && c < 0x7f; }

// One conversion's printf_spec: flags and field width (-1: none).
struct Spec {
  bool left = false, plus = false, space = false, zero = false;
  long width = -1;
};

// widen_string(): pads `s` to the width with spaces.
void PutPadded(const Spec& sp, std::string_view s, std::string* out) {
  const long pad = sp.width > static_cast<long>(s.size())
                       ? sp.width - static_cast<long>(s.size())
                       : 0;
  if (!sp.left) out->append(pad, ' ');
  out->append(s);
  if (sp.left) out->append(pad, ' ');
}

// number(): base 10 or 16, the sign for signed conversions, zero or space
// padding (left alignment wins over zeros).
void PutNumber(const Spec& sp, uint64_t v, bool is_signed, int base, bool upper,
               std::string* out) {
  char sign = 0;
  if (is_signed) {
    if (static_cast<int64_t>(v) < 0) {
      sign = '-';
      v = 0 - v;
    } else if (sp.plus) {
      sign = '+';
    } else if (sp.space) {
      sign = ' ';
    }
  }
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string d;
  do {
    d.insert(d.begin(), digits[v % base]);
    v /= base;
  } while (v != 0);
  const long len = static_cast<long>(d.size()) + (sign ? 1 : 0);
  const long pad = sp.width > len ? sp.width - len : 0;
  if (!sp.left && !sp.zero) out->append(pad, ' ');
  if (sign) out->push_back(sign);
  if (!sp.left && sp.zero) out->append(pad, '0');
  out->append(d);
  if (sp.left) out->append(pad, ' ');
}

// pointer_string(): 16 zero-padded hex digits without a width.
void PutPointer(Spec sp, uint64_t v, std::string* out) {
  if (sp.width == -1) {
    sp.width = 16;
    sp.zero = true;
  }
  PutNumber(sp, v, false, 16, false, out);
}

// ptr_to_id(): %p prints a keyed hash of the pointer, never the pointer.
// The kernel's key is random per boot and its hash 32 bits wide; bpfemu
// uses its own per-process key (the digits differ from the kernel's).
uint64_t HashPointer(uint64_t v) {
  if (v == 0) return 0;
  static const uint64_t key =
      std::random_device{}() | (uint64_t{std::random_device{}()} << 32);
  uint64_t z = v ^ key;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return (z ^ (z >> 31)) & 0xffffffffULL;
}

int KptrRestrict() {
  std::ifstream f("/proc/sys/kernel/kptr_restrict");
  int v = 0;
  f >> v;
  return v;
}

// The text an IP conversion stores (ip4_string, ip6_string): %pI4
// "1.2.3.4", %pi4 "001.002.003.004", %pI6 eight colon-separated groups
// of four hex digits, %pi6 32 hex digits.
std::string IpString(const uint8_t* ip, char kind, char ver) {
  char buf[64];
  if (ver == '4') {
    std::snprintf(buf, sizeof(buf),
                  kind == 'I' ? "%u.%u.%u.%u" : "%03u.%03u.%03u.%03u", ip[0],
                  ip[1], ip[2], ip[3]);
    return buf;
  }
  std::string s;
  for (int i = 0; i < 16; i += 2) {
    if (kind == 'I' && i != 0) s.push_back(':');
    std::snprintf(buf, sizeof(buf), "%02x%02x", ip[i], ip[i + 1]);
    s += buf;
  }
  return s;
}

// The kernel's per-call argument buffer: what each argument takes of its
// 512 bytes (tmp_buf in bpf_bprintf_prepare), with the kernel's checks
// (a pre-formatted IP may run past the end; later checks then see a
// negative room and let everything through, as the kernel's do).
struct BinArgs {
  long used = 0;
  long room() const { return kMaxBinArgs - used; }
  // An integer or pointer of `size` bytes, 4-byte aligned.
  bool Scalar(long size) {
    used = (used + 3) & ~3L;
    if (room() >= 0 && room() < size) return false;
    used += size;
    return true;
  }
};

}  // namespace

int Bprintf(const char* fmt, uint32_t fmt_size, const uint64_t* args,
            uint32_t num_args, const OwnedMemory* owned, std::string* out,
            size_t out_size) {
  // bstr_printf() copies a pre-formatted argument (an IP address, %pB,
  // %pks, %pus) without its width, and counts it only while the output
  // has room left; then it skips letters and digits after the conversion.
  auto put_stored = [&](const std::string& text) {
    if (out != nullptr && out->size() < out_size) out->append(text);
  };
  // An empty format has no NUL either (and may be null: no memchr).
  const void* end = fmt_size != 0 ? std::memchr(fmt, 0, fmt_size) : nullptr;
  if (end == nullptr) return -EINVAL;
  const size_t n = static_cast<const char*>(end) - fmt;
  const bool format = args != nullptr && num_args != 0;
  BinArgs bin;
  uint32_t num_spec = 0;
  if (out != nullptr) out->clear();
  for (size_t i = 0; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(fmt[i]);
    if (c < 0x80 && !KIsPrint(c) && !KIsSpace(c)) return -EINVAL;
    if (c != '%') {
      if (out != nullptr) out->push_back(static_cast<char>(c));
      continue;
    }
    if (fmt[i + 1] == '%') {
      if (out != nullptr) out->push_back('%');
      ++i;
      continue;
    }
    if (num_spec >= num_args) return -EINVAL;
    ++i;
    if (static_cast<unsigned char>(fmt[i]) >= 0x80) return -EINVAL;
    Spec sp;
    for (;; ++i) {
      if (fmt[i] == '0') {
        sp.zero = true;
      } else if (fmt[i] == '+') {
        sp.plus = true;
      } else if (fmt[i] == '-') {
        sp.left = true;
      } else if (fmt[i] == ' ') {
        sp.space = true;
      } else {
        break;
      }
    }
    if (sp.left) sp.zero = false;
    if (fmt[i] >= '1' && fmt[i] <= '9') {
      sp.width = 0;
      while (fmt[i] >= '0' && fmt[i] <= '9') {
        sp.width =
            std::min<long>(sp.width * 10 + (fmt[i] - '0'), (1 << 23) - 1);
        ++i;
      }
    }
    const uint64_t arg = format ? args[num_spec] : 0;
    const unsigned char next = static_cast<unsigned char>(fmt[i + 1]);
    std::string text;    // what the conversion prints, before padding
    char str_space = 0;  // 's', 'k' or 'u': a string argument
    if (fmt[i] == 'p') {
      if (next == 0 || KIsSpace(next) || KIsPunct(next) || next == 'K' ||
          next == 'x' || next == 's' || next == 'S') {
        // A pointer printed from its value.
        if (format && !bin.Scalar(8)) return -ENOSPC;
        const char kind = (next == 0 || KIsSpace(next) || KIsPunct(next))
                              ? 'p'
                              : static_cast<char>(next);
        if (kind != 'p') ++i;
        ++num_spec;
        while (kind != 'p' &&
               std::isalnum(static_cast<unsigned char>(fmt[i + 1]))) {
          ++i;
        }
        if (out == nullptr || !format) continue;
        uint64_t v = arg;
        if (kind == 's' || kind == 'S') {
          // symbol_string(): no kernel symbol at a bpfemu address.
          char buf[32];
          std::snprintf(buf, sizeof(buf), "0x%llx",
                        static_cast<unsigned long long>(v));
          PutPadded(sp, buf, out);
          continue;
        }
        if (kind == 'K') {
          // restricted_pointer(): 0 hashes, 1 shows it to CAP_SYSLOG
          // (root), 2 shows zeros.
          const int r = KptrRestrict();
          if (r == 0) {
            v = HashPointer(v);
          } else if (r != 1 || geteuid() != 0) {
            v = 0;
          }
        } else if (kind == 'p') {
          v = HashPointer(v);
        }
        PutPointer(sp, v, out);
        continue;
      }
      if ((next == 'k' || next == 'u') && fmt[i + 2] == 's') {
        str_space = static_cast<char>(next);
        i += 2;
      } else if (next == 'B') {
        // sprint_backtrace() of an address without a symbol, stored as
        // text.
        ++i;
        ++num_spec;
        if (!format) continue;
        char buf[32];
        const int len = std::snprintf(buf, sizeof(buf), "0x%llx",
                                      static_cast<unsigned long long>(arg));
        bin.used += len + 1;
        put_stored(buf);
        while (std::isalnum(static_cast<unsigned char>(fmt[i + 1]))) ++i;
        continue;
      } else {
        if ((next != 'i' && next != 'I') ||
            (fmt[i + 2] != '4' && fmt[i + 2] != '6')) {
          return -EINVAL;
        }
        i += 2;
        ++num_spec;
        if (!format) continue;
        const long ip_size = fmt[i] == '4' ? 4 : 16;
        if (bin.room() >= 0 && bin.room() < ip_size) return -ENOSPC;
        uint8_t ip[16] = {};
        if (ProbeRead(ProbeSpace::kKernel, ip, ip_size, arg, owned) < 0) {
          std::memset(ip, 0, sizeof(ip));
        }
        std::string s = IpString(ip, static_cast<char>(next), fmt[i]);
        // snprintf into what is left of the buffer: cut to fit.
        const long room = bin.room();
        bin.used += static_cast<long>(s.size()) + 1;
        if (room > 0 && static_cast<long>(s.size()) >= room) s.resize(room - 1);
        put_stored(s);
        while (std::isalnum(static_cast<unsigned char>(fmt[i + 1]))) ++i;
        continue;
      }
    } else if (fmt[i] == 's') {
      str_space = 's';
    } else if (fmt[i] == 'c') {
      ++num_spec;
      if (!format) continue;
      if (bin.room() == 0) return -ENOSPC;
      bin.used += 1;
      if (out != nullptr)
        PutPadded(sp, std::string(1, static_cast<char>(arg)), out);
      continue;
    }
    if (str_space != 0) {
      const unsigned char after = static_cast<unsigned char>(fmt[i + 1]);
      if (after != 0 && !KIsSpace(after) && !KIsPunct(after)) return -EINVAL;
      ++num_spec;
      if (!format) continue;
      if (bin.room() == 0) return -ENOSPC;
      // bpf_trace_copy_string(): %s and %pks read kernel memory, %pus user
      // memory; a failed read is an empty string taking one byte.
      const long room = bin.room() > 0 ? bin.room() : 65536;
      std::string s(static_cast<size_t>(room), '\0');
      long got = ProbeReadStr(
          str_space == 'u' ? ProbeSpace::kUser : ProbeSpace::kKernel, s.data(),
          static_cast<uint32_t>(room), arg, owned);
      if (got <= 0) {
        got = 1;
        s[0] = '\0';
      }
      bin.used += got;
      s.resize(std::strlen(s.c_str()));
      if (str_space == 's') {
        if (out != nullptr) PutPadded(sp, s, out);
      } else {
        put_stored(s);
      }
      continue;
    }
    // Integers: int, or long / long long with one or two 'l'.
    long size = 4;
    if (fmt[i] == 'l') {
      size = 8;
      ++i;
    }
    if (fmt[i] == 'l') ++i;
    const char conv = fmt[i];
    if (conv != 'i' && conv != 'd' && conv != 'u' && conv != 'x' &&
        conv != 'X') {
      return -EINVAL;
    }
    ++num_spec;
    if (!format) continue;
    if (!bin.Scalar(size)) return -ENOSPC;
    if (out == nullptr) continue;
    const bool is_signed = conv == 'i' || conv == 'd';
    uint64_t v = arg;
    if (size == 4) {
      v = is_signed ? static_cast<uint64_t>(
                          static_cast<int64_t>(static_cast<int32_t>(v)))
                    : static_cast<uint32_t>(v);
    }
    PutNumber(sp, v, is_signed, conv == 'x' || conv == 'X' ? 16 : 10,
              conv == 'X', out);
  }
  return 0;
}

int BprintfData(const char* fmt, uint32_t fmt_size, const uint64_t* data,
                uint32_t data_len, const OwnedMemory* owned, std::string* out,
                size_t out_size) {
  if (data_len % 8 != 0 || data_len > kMaxBprintfVarargs * 8 ||
      (data_len != 0 && data == nullptr)) {
    return -EINVAL;
  }
  return Bprintf(fmt, fmt_size, data, data_len / 8, owned, out, out_size);
}

namespace {

// bpf_stream_vprintk_impl's format pass (emu/stream.h): bstr_printf into
// a MAX_BPRINTF_BUF buffer.
int StreamFormat(const char* fmt, const uint64_t* args, uint32_t data_len,
                 const std::function<bool(uint64_t, uint64_t)>* readable,
                 std::string* out) {
  if (readable == nullptr) {
    return BprintfData(fmt, UINT32_MAX, args, data_len, nullptr, out,
                       kStreamElemMax);
  }
  const OwnedMemory owned = *readable;
  return BprintfData(fmt, UINT32_MAX, args, data_len, &owned, out,
                     kStreamElemMax);
}

[[maybe_unused]] const bool kStreamFormatSet =
    (SetStreamFormat(&StreamFormat), true);

}  // namespace

long Snprintf(char* str, uint32_t str_size, const char* fmt,
              const uint64_t* data, uint32_t data_len,
              const OwnedMemory* owned) {
  std::string text;
  const int err =
      BprintfData(fmt, UINT32_MAX, data, data_len, owned, &text, str_size);
  if (err < 0) return err;
  if (str_size != 0) {
    const size_t n = std::min<size_t>(text.size(), str_size - 1);
    std::memcpy(str, text.data(), n);
    str[n] = '\0';
  }
  return static_cast<long>(text.size()) + 1;
}

// --- bpf_sys_bpf ---

namespace {

constexpr uint32_t kPage = 4096;
std::atomic<SysProgLoader> prog_loader{nullptr};

long MapCreateFromAttr(const uint8_t* a) {
  MapAttr attr;
  if (int err = MapAttrFromBpfAttr(a, &attr); err != 0) return err;
  return MapCreate(attr);
}

long BtfLoadFromAttr(const uint8_t* a) {
  BtfLoadAttr attr;
  attr.btf = reinterpret_cast<const void*>(AttrGet<uint64_t>(a, 0));
  // Measured on 6.18 with an all-zero attr: a NULL blob from a program is
  // EFAULT before the size is looked at.
  if (attr.btf == nullptr) return -EFAULT;
  attr.log_buf = reinterpret_cast<char*>(AttrGet<uint64_t>(a, 8));
  attr.btf_size = AttrGet<uint32_t>(a, 16);
  attr.log_size = AttrGet<uint32_t>(a, 20);
  attr.log_level = AttrGet<uint32_t>(a, 24);
  if (TargetKernel() >= KernelVersion::k6_12) {
    attr.log_true_size = AttrGet<uint32_t>(a, 28);
    attr.btf_flags = AttrGet<uint32_t>(a, 32);
    attr.btf_token_fd = AttrGet<int32_t>(a, 36);
  }
  return BtfLoad(attr);
}

long ProgLoadFromAttr(const uint8_t* a) {
  SysProgLoad load;
  load.prog_type = AttrGet<uint32_t>(a, 0);
  load.insn_cnt = AttrGet<uint32_t>(a, 4);
  load.insns = reinterpret_cast<const void*>(AttrGet<uint64_t>(a, 8));
  load.license = reinterpret_cast<const char*>(AttrGet<uint64_t>(a, 16));
  load.prog_flags = AttrGet<uint32_t>(a, 44);
  load.name.assign(
      reinterpret_cast<const char*>(a + 48),
      strnlen(reinterpret_cast<const char*>(a + 48), BPF_OBJ_NAME_LEN));
  load.expected_attach_type = AttrGet<uint32_t>(a, 68);
  load.fd_array = AttrGet<uint64_t>(a, 120);
  if (load.insn_cnt == 0 || load.insn_cnt > 1000000) return -E2BIG;
  const SysProgLoader loader = prog_loader.load();
  return loader == nullptr ? -EOPNOTSUPP : loader(load);
}

// BPF_LINK_CREATE and BPF_RAW_TRACEPOINT_OPEN: the program must be one
// (bpf_prog_get); fentry, fexit and fmod_ret programs attach to their
// function (emu/trampoline.h), others have no attach point on bpfemu.
long AttachFromAttr(uint32_t cmd, const uint8_t* a) {
  const int prog_fd = AttrGet<int32_t>(a, cmd == BPF_LINK_CREATE ? 0 : 8);
  std::shared_ptr<const Prog> prog;
  if (int err = ProgFromFd(prog_fd, &prog); err != 0) return err;
  if (prog->type != BPF_PROG_TYPE_TRACING ||
      !HasTrampoline(prog->expected_attach_type)) {
    return -EOPNOTSUPP;
  }
  if (cmd == BPF_RAW_TRACEPOINT_OPEN) {
    // raw_tracepoint.name: any non-NULL name is refused before it is read.
    return TracingRawTpOpen(prog_fd,
                            AttrGet<uint64_t>(a, 0) != 0 ? "" : nullptr);
  }
  // link_create: target_fd, attach_type, tracing.target_btf_id, .cookie.
  return TracingLinkCreate(prog_fd, AttrGet<uint32_t>(a, 8),
                           AttrGet<uint32_t>(a, 4), AttrGet<uint32_t>(a, 16),
                           AttrGet<uint64_t>(a, 24));
}

}  // namespace

void SetSysProgLoader(SysProgLoader loader) { prog_loader.store(loader); }

long SysBpf(uint32_t cmd, const void* attr, uint32_t size) {
  const uint32_t end = BpfAttrLastFieldEnd(static_cast<int>(cmd));
  switch (cmd) {  // the commands bpf_sys_bpf runs
    case BPF_MAP_CREATE:
    case BPF_MAP_DELETE_ELEM:
    case BPF_MAP_UPDATE_ELEM:
    case BPF_MAP_FREEZE:
    case BPF_MAP_GET_FD_BY_ID:
    case BPF_PROG_LOAD:
    case BPF_BTF_LOAD:
    case BPF_LINK_CREATE:
    case BPF_RAW_TRACEPOINT_OPEN:
      break;
    default:
      return -EINVAL;
  }
  // bpf_check_uarg_tail_zero(): at most a page; beyond the union, zeros.
  const uint32_t asz = BpfAttrSize();
  if (size > kPage) return -E2BIG;
  const uint8_t* in = static_cast<const uint8_t*>(attr);
  for (uint32_t i = asz; i < size; ++i) {
    if (in[i] != 0) return -E2BIG;
  }
  uint8_t a[256] = {};
  std::memcpy(a, in, std::min(size, asz));
  for (uint32_t i = end; i < asz; ++i) {  // CHECK_ATTR
    if (a[i] != 0) return -EINVAL;
  }
  switch (cmd) {
    case BPF_MAP_CREATE:
      return MapCreateFromAttr(a);
    case BPF_MAP_UPDATE_ELEM:
      return MapUpdateElem(
          AttrGet<int32_t>(a, 0),
          reinterpret_cast<const void*>(AttrGet<uint64_t>(a, 8)),
          reinterpret_cast<const void*>(AttrGet<uint64_t>(a, 16)),
          AttrGet<uint64_t>(a, 24));
    case BPF_MAP_DELETE_ELEM:
      return MapDeleteElem(
          AttrGet<int32_t>(a, 0),
          reinterpret_cast<const void*>(AttrGet<uint64_t>(a, 8)));
    case BPF_MAP_FREEZE:
      return MapFreeze(AttrGet<int32_t>(a, 0));
    case BPF_MAP_GET_FD_BY_ID:
      return MapGetFdById(AttrGet<uint32_t>(a, 0), AttrGet<uint32_t>(a, 8));
    case BPF_PROG_LOAD:
      return ProgLoadFromAttr(a);
    case BPF_BTF_LOAD:
      return BtfLoadFromAttr(a);
    case BPF_LINK_CREATE:
    case BPF_RAW_TRACEPOINT_OPEN:
      return AttachFromAttr(cmd, a);
  }
  return -EINVAL;
}

long SysClose(uint32_t fd) {
  if (fd > static_cast<uint32_t>(INT32_MAX)) return -EBADF;
  return CloseFd(static_cast<int>(fd));
}

long BtfFindByNameKind(const char* name, int32_t name_sz, uint32_t kind,
                       int32_t flags) {
  if (flags != 0) return -EINVAL;
  if (name_sz <= 1 || name[name_sz - 1] != '\0') return -EINVAL;
  const KernelBtf* btf = KernelBtf::Get();
  if (btf == nullptr) return -EINVAL;  // bpf_get_btf_vmlinux(): none
  return btf->FindByNameKind(name, kind & 0xff);
}

long KallsymsLookupName(const char* name, int32_t name_sz, int32_t flags,
                        uint64_t* res) {
  *res = 0;
  if (flags != 0) return -EINVAL;
  if (name_sz <= 1 || name[name_sz - 1] != '\0') return -EINVAL;
  std::ifstream f("/proc/kallsyms");
  if (!f) return -EPERM;
  const std::string_view want(name);
  std::string line;
  bool shown = false;
  while (std::getline(f, line)) {
    // "address type name [module]"
    const size_t a = line.find(' ');
    if (a == std::string::npos || a + 3 > line.size()) continue;
    const uint64_t addr = std::strtoull(line.c_str(), nullptr, 16);
    shown = shown || addr != 0;
    const size_t s = a + 3;
    size_t e = line.find_first_of(" \t", s);
    if (e == std::string::npos) e = line.size();
    if (std::string_view(line).substr(s, e - s) != want) continue;
    if (!shown) return -EPERM;  // kallsyms_show_value() said no
    *res = addr;
    return addr != 0 ? 0 : -ENOENT;
  }
  return shown ? -ENOENT : -EPERM;
}

}  // namespace bpfemu::native

extern "C" {

long bpfemu_snprintf(char* str, __u32 str_size, const char* fmt,
                     const __u64* data, __u32 data_len) {
  return bpfemu::native::Snprintf(str, str_size, fmt,
                                  reinterpret_cast<const uint64_t*>(data),
                                  data_len, nullptr);
}

long bpfemu_sys_bpf(__u32 cmd, void* attr, __u32 attr_size) {
  return bpfemu::native::SysBpf(cmd, attr, attr_size);
}

long bpfemu_sys_close(__u32 fd) { return bpfemu::native::SysClose(fd); }

long bpfemu_btf_find_by_name_kind(const char* name, int name_sz, __u32 kind,
                                  int flags) {
  return bpfemu::native::BtfFindByNameKind(name, name_sz, kind, flags);
}

long bpfemu_kallsyms_lookup_name(const char* name, int name_sz, int flags,
                                 __u64* res) {
  uint64_t r = 0;
  const long ret = bpfemu::native::KallsymsLookupName(name, name_sz, flags, &r);
  *res = r;
  return ret;
}

}  // extern "C"
