// SPDX-License-Identifier: Apache-2.0
#include "loader/kconfig.h"

#include <sys/utsname.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "absl/strings/str_format.h"
#include "emu/version.h"

namespace bpfemu::native {
namespace {

constexpr uint32_t KernelVersionCode(uint32_t a, uint32_t b, uint32_t c) {
  return (a << 16) + (b << 8) + std::min<uint32_t>(c, 255);
}

// libbpf's get_kernel_version() for the emulated kernel: the running
// kernel's release when its version is the one emulated, else the
// emulated version's x.y.0.
uint32_t EmulatedKernelVersion() {
  const uint32_t target = static_cast<uint32_t>(TargetKernel());
  const uint32_t major = target / 1000, minor = target % 1000;
  utsname u;
  unsigned a, b, c;
  if (uname(&u) == 0 && std::sscanf(u.release, "%u.%u.%u", &a, &b, &c) == 3 &&
      a == major && b == minor) {
    return KernelVersionCode(a, b, c);
  }
  return KernelVersionCode(major, minor, 0);
}

struct State {
  const std::vector<KconfigExtern>& externs;
  std::vector<uint8_t>& data;
  std::vector<bool> set;
  std::string& log;
};

void Warn(State& s, const std::string& msg) { s.log += msg + "\n"; }

// is_kcfg_value_in_range().
bool InRange(const KconfigExtern& e, uint64_t v) {
  if (e.size == 8) return true;
  const uint32_t bits = e.size * 8;
  if (e.is_signed) return v + (uint64_t{1} << (bits - 1)) < uint64_t{1} << bits;
  return (v >> bits) == 0;
}

// set_kcfg_value_num().
int SetNum(State& s, size_t i, uint64_t v) {
  const KconfigExtern& e = s.externs[i];
  if (e.kind != KconfigExtern::kInt && e.kind != KconfigExtern::kChar &&
      e.kind != KconfigExtern::kBool) {
    Warn(s, absl::StrFormat("extern (kcfg) '%s': value '%u' implies integer, "
                            "char, or boolean type",
                            e.name, v));
    return -EINVAL;
  }
  if (e.kind == KconfigExtern::kBool && v > 1) {
    Warn(s, absl::StrFormat(
                "extern (kcfg) '%s': value '%u' isn't boolean compatible",
                e.name, v));
    return -EINVAL;
  }
  if (!InRange(e, v)) {
    Warn(s, absl::StrFormat("extern (kcfg) '%s': value '%u' doesn't fit in "
                            "%d bytes",
                            e.name, v, e.size));
    return -ERANGE;
  }
  if (e.size != 1 && e.size != 2 && e.size != 4 && e.size != 8) return -EINVAL;
  std::memcpy(s.data.data() + e.offset, &v, e.size);  // little-endian
  s.set[i] = true;
  return 0;
}

// set_kcfg_value_tri(): y, n or m.
int SetTri(State& s, size_t i, char v) {
  const KconfigExtern& e = s.externs[i];
  uint8_t* at = s.data.data() + e.offset;
  switch (e.kind) {
    case KconfigExtern::kBool:
      if (v == 'm') {
        Warn(s, absl::StrFormat("extern (kcfg) '%s': value '%c' implies "
                                "tristate or char type",
                                e.name, v));
        return -EINVAL;
      }
      *at = v == 'y';
      break;
    case KconfigExtern::kTristate: {
      // enum libbpf_tristate: TRI_NO, TRI_YES, TRI_MODULE.
      const uint32_t tri = v == 'y' ? 1 : v == 'm' ? 2 : 0;
      std::memcpy(at, &tri, sizeof(tri));
      break;
    }
    case KconfigExtern::kChar:
      *at = static_cast<uint8_t>(v);
      break;
    default:
      Warn(s, absl::StrFormat("extern (kcfg) '%s': value '%c' implies bool, "
                              "tristate, or char type",
                              e.name, v));
      return -EINVAL;
  }
  s.set[i] = true;
  return 0;
}

// set_kcfg_value_str(): a quoted string into a char array, cut to fit.
int SetStr(State& s, size_t i, const std::string& v) {
  const KconfigExtern& e = s.externs[i];
  if (e.kind != KconfigExtern::kCharArr) {
    Warn(s, absl::StrFormat(
                "extern (kcfg) '%s': value '%s' implies char array type",
                e.name, v));
    return -EINVAL;
  }
  if (v.size() < 2 || v.back() != '"') {
    Warn(s, absl::StrFormat("extern (kcfg) '%s': invalid string config '%s'",
                            e.name, v));
    return -EINVAL;
  }
  size_t len = v.size() - 2;
  if (len >= e.size) {
    Warn(s, absl::StrFormat("extern (kcfg) '%s': long string '%s' of (%zu "
                            "bytes) truncated to %d bytes",
                            e.name, v, len, e.size - 1));
    len = e.size - 1;
  }
  std::memcpy(s.data.data() + e.offset, v.data() + 1, len);
  s.data[e.offset + len] = 0;
  s.set[i] = true;
  return 0;
}

// bpf_object__process_kconfig_line(): "CONFIG_X=value"; other lines are
// skipped.
int ProcessLine(State& s, std::string line) {
  if (line.rfind("CONFIG_", 0) != 0) return 0;
  const size_t eq = line.find('=');
  if (eq == std::string::npos) {
    Warn(s, absl::StrFormat("failed to parse '%s': no separator", line));
    return -EINVAL;
  }
  if (!line.empty() && line.back() == '\n') line.pop_back();
  if (eq + 1 >= line.size()) {
    Warn(s, absl::StrFormat("failed to parse '%s': no value", line));
    return -EINVAL;
  }
  const std::string name = line.substr(0, eq), value = line.substr(eq + 1);
  size_t i = 0;
  while (i < s.externs.size() && s.externs[i].name != name) ++i;
  if (i == s.externs.size() || s.set[i]) return 0;
  switch (value[0]) {
    case 'y':
    case 'n':
    case 'm':
      return SetTri(s, i, value[0]);
    case '"':
      return SetStr(s, i, value);
    default: {
      errno = 0;
      char* end;
      const uint64_t num = std::strtoull(value.c_str(), &end, 0);
      if (errno != 0 || *end != '\0') {
        Warn(s, absl::StrFormat(
                    "extern (kcfg) '%s': value '%s' isn't a valid integer",
                    name, value));
        return errno != 0 ? -errno : -EINVAL;
      }
      const KconfigExtern::Kind k = s.externs[i].kind;
      if (k != KconfigExtern::kInt && k != KconfigExtern::kChar) {
        Warn(s, absl::StrFormat(
                    "extern (kcfg) '%s': value '%s' implies integer type", name,
                    value));
        return -EINVAL;
      }
      return SetNum(s, i, num);
    }
  }
}

bool AllSet(const State& s) {
  return std::find(s.set.begin(), s.set.end(), false) == s.set.end();
}

// bpf_object__read_kconfig_file(): /boot/config-$(uname -r), else
// /proc/config.gz (gzip or plain text).
int ReadSystemKconfig(State& s) {
  utsname u;
  uname(&u);
  gzFile f = gzopen((std::string("/boot/config-") + u.release).c_str(), "re");
  if (f == nullptr) f = gzopen("/proc/config.gz", "re");
  if (f == nullptr) {
    Warn(s, "failed to open system Kconfig");
    return -ENOENT;
  }
  char buf[4096];
  int err = 0;
  while (gzgets(f, buf, sizeof(buf)) != nullptr) {
    if ((err = ProcessLine(s, buf)) != 0) break;
  }
  gzclose(f);
  return err;
}

}  // namespace

uint32_t LayoutKconfig(std::vector<KconfigExtern>* externs) {
  // cmp_externs(): alignment descending, size ascending, then name.
  std::sort(externs->begin(), externs->end(),
            [](const KconfigExtern& a, const KconfigExtern& b) {
              if (a.align != b.align) return a.align > b.align;
              if (a.size != b.size) return a.size < b.size;
              return a.name < b.name;
            });
  uint32_t off = 0;
  for (KconfigExtern& e : *externs) {
    const uint32_t align = std::max<uint32_t>(e.align, 1);
    off = (off + align - 1) / align * align;
    e.offset = off;
    off += e.size;
  }
  return off;
}

int ResolveKconfig(const std::vector<KconfigExtern>& externs,
                   const std::string* extra, std::vector<uint8_t>* data,
                   std::string* log) {
  State s{externs, *data, std::vector<bool>(externs.size(), false), *log};
  bool need_config = false;
  for (size_t i = 0; i < externs.size(); ++i) {
    const KconfigExtern& e = externs[i];
    if (e.name.rfind("CONFIG_", 0) == 0) {
      need_config = true;
      continue;
    }
    // The virtual externs.
    uint64_t value = 0;
    if (e.name == "LINUX_KERNEL_VERSION") {
      value = EmulatedKernelVersion();
    } else if (e.name == "LINUX_HAS_BPF_COOKIE" ||
               e.name == "LINUX_HAS_SYSCALL_WRAPPER") {
      value = 1;  // every emulated version has both (x86-64)
    } else if (e.name.rfind("LINUX_", 0) != 0 || !e.weak) {
      Warn(s, absl::StrFormat("extern (kcfg) '%s': unrecognized virtual extern",
                              e.name));
      return -EINVAL;
    }
    if (int err = SetNum(s, i, value); err != 0) return err;
  }
  if (need_config && extra != nullptr) {
    std::istringstream in(*extra);
    std::string line;
    while (std::getline(in, line)) {
      if (ProcessLine(s, line) != 0) return -EINVAL;
    }
    need_config = !AllSet(s);
  }
  if (need_config && ReadSystemKconfig(s) != 0) return -EINVAL;
  for (size_t i = 0; i < externs.size(); ++i) {
    if (!s.set[i] && !externs[i].weak) {
      Warn(s, absl::StrFormat("extern '%s' (strong): not resolved",
                              externs[i].name));
      return -ESRCH;
    }
  }
  return 0;
}

}  // namespace bpfemu::native
