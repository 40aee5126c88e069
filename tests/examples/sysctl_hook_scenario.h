// SPDX-License-Identifier: Apache-2.0
// The sysctl accesses tests/examples/sysctl_hook.bpf.c is compared on, and
// their bpfemu side: the two programs run by RunSysctlHook (loader/
// cgroup_hooks.h) on an access of net/ipv4/tcp_keepalive_time, the maps'
// records printed as lines a kernel run prints the same way
// (sysctl_hook_compare_test.cc attaches the programs to a cgroup and makes
// the access from a process in it).
#ifndef BPFEMU_TESTS_EXAMPLES_SYSCTL_HOOK_SCENARIO_H_
#define BPFEMU_TESTS_EXAMPLES_SYSCTL_HOOK_SCENARIO_H_

#include <linux/bpf.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "emu/syscall.h"
#include "loader/cgroup_hooks.h"
#include "loader/object.h"
#include "tests/examples/sysctl_hook_cases.h"

namespace bpfemu::examples::sysctl_hook {

inline constexpr char kSysctl[] = "net/ipv4/tcp_keepalive_time";

struct Case {
  const char* name;
  bool write;
  const char* value;  // a write's bytes
  int64_t pos;        // the access's file position (pread / pwrite)
  sysctl_cfg cfg[2];
};

inline sysctl_cfg Allow() {
  sysctl_cfg c = {};
  c.verdict = 1;
  return c;
}
inline sysctl_cfg Deny() { return sysctl_cfg{}; }
inline sysctl_cfg Retval(int32_t retval, uint32_t verdict) {
  sysctl_cfg c = {};
  c.action = SYSCTL_SET_RETVAL;
  c.retval = retval;
  c.verdict = verdict;
  return c;
}
inline sysctl_cfg NewValue(const char* v, uint32_t verdict, uint32_t len = 0) {
  sysctl_cfg c = {};
  c.action = SYSCTL_SET_NEW;
  c.new_len = len != 0 ? len : static_cast<uint32_t>(std::strlen(v));
  std::memcpy(c.new_value, v, std::strlen(v));
  c.verdict = verdict;
  return c;
}
inline sysctl_cfg Pos(uint32_t pos) {
  sysctl_cfg c = Allow();
  c.action = SYSCTL_SET_POS;
  c.file_pos = pos;
  return c;
}

inline std::vector<Case> Cases() {
  sysctl_cfg big = Allow();
  big.action = SYSCTL_SET_BIG;
  sysctl_cfg big_and_new = NewValue("300", 1);
  big_and_new.action |= SYSCTL_SET_BIG;
  sysctl_cfg clear = Retval(0, 1);  // the second program allows anew
  return {
      {"read allowed", false, "", 0, {Allow(), Allow()}},
      {"read denied by the first", false, "", 0, {Deny(), Allow()}},
      {"read denied by the second", false, "", 0, {Allow(), Deny()}},
      {"write allowed", true, "7201", 0, {Allow(), Allow()}},
      {"write with newline", true, "8000\n", 0, {Allow(), Allow()}},
      {"write denied", true, "7201", 0, {Deny(), Allow()}},
      {"write of a new value", true, "7201", 0, {NewValue("600", 1), Allow()}},
      {"new value set by both",
       true,
       "7201",
       0,
       {NewValue("600", 1), NewValue("1234", 1)}},
      {"new value then denied", true, "7201", 0, {NewValue("600", 1), Deny()}},
      {"new value, 16 bytes",
       true,
       "7201",
       0,
       {NewValue("0000000000000042", 1, 16), Allow()}},
      {"new value too long", true, "7201", 0, {big, Allow()}},
      {"too long, then a new value", true, "7201", 0, {big_and_new, Allow()}},
      {"new value on a read", false, "", 0, {NewValue("600", 1), Allow()}},
      {"retval EACCES and deny", false, "", 0, {Retval(-EACCES, 0), Allow()}},
      {"retval ENOSPC and allow",
       true,
       "7201",
       0,
       {Retval(-ENOSPC, 1), Allow()}},
      {"retval positive and deny", false, "", 0, {Retval(5, 0), Allow()}},
      {"denied, then cleared by the second", true, "7201", 0, {Deny(), clear}},
      {"EACCES, then cleared by the second",
       false,
       "",
       0,
       {Retval(-EACCES, 0), clear}},
      {"retval 0 and deny", false, "", 0, {Retval(0, 0), Allow()}},
      {"read at 3", false, "", 3, {Allow(), Allow()}},
      {"read at 3 moved to 0", false, "", 3, {Pos(0), Allow()}},
      {"read at 0 moved to 4", false, "", 0, {Pos(4), Allow()}},
      {"read at 2^32 + 3 moved to 0",
       false,
       "",
       (int64_t{1} << 32) + 3,
       {Pos(0), Allow()}},
      {"write at 0 moved to 2", true, "7201", 0, {Pos(2), Allow()}},
  };
}

inline std::string Bytes(const char* p, size_t n) {
  std::string s = "\"";
  for (size_t i = 0; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(p[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      s += static_cast<char>(c);
    } else {
      absl::StrAppend(&s, "\\x", absl::Hex(c, absl::kZeroPad2));
    }
  }
  return s + "\"";
}

// Everything a program recorded.
inline std::string Dump(const sysctl_seen& s) {
  std::string out =
      absl::StrCat("hits ", s.hits, " write ", s.write, " pos ", s.pos_before,
                   "->", s.pos_after, " retval ", s.retval_before, "->",
                   s.retval_after, " set_retval ", s.set_retval_ret, "\n name");
  for (int64_t r : s.name_ret) absl::StrAppend(&out, " ", r);
  absl::StrAppend(&out, " ", Bytes(s.name_full, sizeof(s.name_full)), " ",
                  Bytes(s.name_base, sizeof(s.name_base)), " ",
                  Bytes(s.name_small, sizeof(s.name_small)), " ",
                  Bytes(s.name_tiny, sizeof(s.name_tiny)), " ",
                  Bytes(s.name_base_small, sizeof(s.name_base_small)));
  absl::StrAppend(&out, "\n cur ", s.cur_ret[0], " ", s.cur_ret[1], " ",
                  Bytes(s.cur, sizeof(s.cur)), " ",
                  Bytes(s.cur_small, sizeof(s.cur_small)));
  absl::StrAppend(&out, "\n new ", s.new_ret[0], " ", s.new_ret[1], " ",
                  s.new_ret[2], " ", Bytes(s.new_value, sizeof(s.new_value)),
                  " ", Bytes(s.new_small, sizeof(s.new_small)), " ",
                  Bytes(s.new_after, sizeof(s.new_after)), " set ", s.set_ret,
                  " big ", s.set_big_ret);
  return out;
}

// The value proc_dointvec_jiffies keeps from the bytes it is handed (the
// number they start with, in C notation: proc_get_long reads it with
// base 0), for the comparison of what a write left.
inline long Parsed(const std::string& s) {
  return std::strtol(s.c_str(), nullptr, 0);
}

// What the two programs saw and decided on bpfemu for case `c`, the
// sysctl's value as its handler prints it being `current`; seen[2] is
// what the later read recorded.
struct EmuRun {
  native::SysctlOutcome outcome;
  sysctl_seen seen[3];
};

// The sysctl's value after the access, by the handler's rules
// (proc_dointvec_jiffies): a write the hook let through, at position 0,
// stores the number its bytes start with; anything else stores nothing.
inline long LaterValue(const native::SysctlOutcome& o, const Case& c,
                       const std::string& current) {
  if (o.ret == 0 && c.write && o.pos == 0) return Parsed(o.new_value);
  return Parsed(current);
}

inline int EmuAccess(const native::Object& obj, const Case& c,
                     const std::string& current, EmuRun* out) {
  const int cfg = obj.MapFd("cfg"), seen = obj.MapFd("seen");
  for (uint32_t k = 0; k < 3; ++k) {
    const sysctl_seen blank = {};
    if (k < 2 && MapUpdateElem(cfg, &k, &c.cfg[k], BPF_ANY) != 0) return -1;
    if (MapUpdateElem(seen, &k, &blank, BPF_ANY) != 0) return -1;
  }
  const native::Program* progs[2] = {obj.FindProgram("sysctl_first"),
                                     obj.FindProgram("sysctl_second")};
  if (progs[0] == nullptr || progs[1] == nullptr) return -1;
  native::SysctlAccess access;
  access.name = kSysctl;
  access.write = c.write;
  access.current = current;
  access.new_value = c.value;
  access.pos = c.pos;
  out->outcome = native::RunSysctlHook(progs, access);
  // The later read, from position 0, of the value the access left.
  native::SysctlAccess later;
  later.name = kSysctl;
  later.current = absl::StrCat(LaterValue(out->outcome, c, current), "\n");
  native::RunSysctlHook(progs, later);
  for (uint32_t k = 0; k < 3; ++k) {
    if (MapLookupElem(seen, &k, &out->seen[k]) != 0) return -1;
  }
  return 0;
}

// The access's result as the process sees it, predicted from bpfemu's
// outcome and the handler's rules for this sysctl (proc_dointvec_jiffies,
// fs/proc/proc_sysctl.c): denied: the errno; a read: the value from
// position 0, nothing from any other; a write: the length it was handed,
// stored only at position 0 (sysctl_writes_strict); then the value a later
// read shows.
inline std::string EmuResult(const EmuRun& r, const Case& c,
                             const std::string& current) {
  const native::SysctlOutcome& o = r.outcome;
  const long then = LaterValue(o, c, current);
  if (o.ret != 0) return absl::StrCat("errno ", -o.ret, " then ", then);
  if (!c.write) {
    const std::string got = o.pos == 0 ? current : "";
    return absl::StrCat("read ", got.size(), " ", Bytes(got.data(), got.size()),
                        " then ", then);
  }
  // At another position the bytes are taken but not stored
  // (proc_first_pos_non_zero_ignore): LaterValue.
  return absl::StrCat("wrote ", o.new_value.size(), " then ", then);
}

}  // namespace bpfemu::examples::sysctl_hook

#endif  // BPFEMU_TESTS_EXAMPLES_SYSCTL_HOOK_SCENARIO_H_
