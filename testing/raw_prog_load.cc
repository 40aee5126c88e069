// SPDX-License-Identifier: Apache-2.0
#include "testing/raw_prog_load.h"

#include <errno.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "emu/syscall.h"
#include "loader/bytecode.h"

namespace bpfemu {

RawLoaded KernelLoadRaw(const RawProg& p) {
  std::vector<char> log(p.with_log ? 1 << 16 : 1, 0);
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.prog_type = p.type;
  attr.expected_attach_type = p.attach_type;
  attr.prog_flags = p.prog_flags;
  attr.attach_btf_id = p.attach_btf_id;
  attr.insns = reinterpret_cast<uint64_t>(p.insns.data());
  attr.insn_cnt = static_cast<uint32_t>(p.insns.size());
  attr.license = reinterpret_cast<uint64_t>(p.license);
  if (p.with_log) {
    attr.log_level = 1;
    attr.log_buf = reinterpret_cast<uint64_t>(log.data());
    attr.log_size = static_cast<uint32_t>(log.size());
  }
  attr.fd_array = reinterpret_cast<uint64_t>(p.fd_array);
  const long fd = syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
  return {fd < 0 ? -errno : static_cast<int>(fd), std::string(log.data())};
}

RawLoaded EmuLoadRaw(const RawProg& p) {
  RawLoaded r;
  native::ProgLoadFlags flags;
  flags.prog_flags = p.prog_flags;
  flags.attach_btf_id = p.attach_btf_id;
  // The entries the instructions index (BPF_PSEUDO_MAP_IDX(_VALUE), read as
  // the kernel reads attr.fd_array: user memory of this process).
  flags.has_fd_array = p.fd_array != nullptr;
  flags.fd_array_entry = native::FdArrayInMemory(
      reinterpret_cast<uint64_t>(p.fd_array), native::ProbeSpace::kUser);
  if (p.with_log) flags.log = &r.log;
  r.fd = native::ProgLoadBytecode(p.type, p.attach_type, "raw", p.insns.data(),
                                  static_cast<uint32_t>(p.insns.size()),
                                  p.license, flags);
  return r;
}

namespace {

std::string Verdict(const RawLoaded& r) {
  return std::to_string(r.fd < 0 ? r.fd : 0) + " " +
         (r.fd < 0 ? VerifierReason(r.log) : "");
}

}  // namespace

std::string KernelLoadVerdict(const RawProg& p) {
  const RawLoaded r = KernelLoadRaw(p);
  if (r.fd >= 0) close(r.fd);
  return Verdict(r);
}

std::string EmuLoadVerdict(const RawProg& p) {
  const RawLoaded r = EmuLoadRaw(p);
  if (r.fd >= 0) CloseFd(r.fd);
  return Verdict(r);
}

std::string VerifierReason(std::string_view log) {
  std::string_view reason;
  while (!log.empty()) {
    const size_t nl = log.find('\n');
    std::string_view line = log.substr(0, nl);
    log = nl == std::string_view::npos ? "" : log.substr(nl + 1);
    if (const size_t nul = line.find('\0'); nul != std::string_view::npos) {
      line = line.substr(0, nul);
      log = "";  // a C string's end
    }
    if (!line.empty() && !line.starts_with("processed ") &&
        line.find("verification time") == std::string_view::npos) {
      reason = line;
    }
  }
  return std::string(reason);
}

}  // namespace bpfemu
