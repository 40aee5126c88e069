// SPDX-License-Identifier: Apache-2.0
#include "emu/version.h"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <string>

namespace bpfemu {
namespace {

KernelVersion InitialTarget() {
  if (const char* env = std::getenv("BPFEMU_KERNEL")) {
    if (auto v = ParseKernelVersion(env)) return *v;
  }
  return KernelVersion::k6_18;
}

std::atomic<uint32_t>& Target() {
  static std::atomic<uint32_t> target{static_cast<uint32_t>(InitialTarget())};
  return target;
}

}  // namespace

std::optional<KernelVersion> ParseKernelVersion(std::string_view s) {
  if (s == "6.1") return KernelVersion::k6_1;
  if (s == "6.12") return KernelVersion::k6_12;
  if (s == "6.18") return KernelVersion::k6_18;
  return std::nullopt;
}

const char* KernelVersionName(KernelVersion v) {
  switch (v) {
    case KernelVersion::k6_1:
      return "6.1";
    case KernelVersion::k6_12:
      return "6.12";
    case KernelVersion::k6_18:
      return "6.18";
  }
  return "?";
}

KernelVersion TargetKernel() {
  return static_cast<KernelVersion>(Target().load(std::memory_order_relaxed));
}

void SetTargetKernel(KernelVersion v) {
  Target().store(static_cast<uint32_t>(v), std::memory_order_relaxed);
}

namespace {

std::atomic<bool>& Privileged() {
  static std::atomic<bool> privileged{[] {
    const char* env = std::getenv("BPFEMU_UNPRIVILEGED");
    return env == nullptr || std::string(env) != "1";
  }()};
  return privileged;
}

}  // namespace

bool CallerPrivileged() { return Privileged().load(std::memory_order_relaxed); }

void SetCallerPrivileged(bool privileged) {
  Privileged().store(privileged, std::memory_order_relaxed);
}

}  // namespace bpfemu
