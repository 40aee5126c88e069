// SPDX-License-Identifier: Apache-2.0
// Arbitrary instruction arrays through BPF_PROG_LOAD for bytecode
// (loader/bytecode.h) and, when they load, a run on a packet or tracing
// context. LD_IMM64 map loads are pointed at real maps of every kind (and
// the program array holds the program itself), so helpers, tail calls and
// map values are reached. Checks: no crash, no sanitizer report; a run ends
// normally or is stopped by the interpreter's checks.
//
// Differential (issue 29): each input is loaded and run three times, on
// maps reset alike each time: interpreted, as the x86-64 JIT's machine code
// (emu/jit_x86.h), and interpreted again. When the two interpreted runs
// agree (the program used no clock, random number or address that moves
// between runs), the compiled run must agree with them: the load's result,
// R0, the fault and its message, the packet and every map's contents.
#include <linux/bpf.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "emu/cpu.h"
#include "emu/interp.h"
#include "emu/prog.h"
#include "emu/signal.h"
#include "emu/syscall.h"
#include "fuzz/fuzz_input.h"
#include "loader/bytecode.h"
#include "loader/object.h"
#include "loader/test_run.h"

namespace {

// The maps every run uses, created once.
struct Def {
  uint32_t type, key, value, max;
};
constexpr Def kDefs[] = {
    {BPF_MAP_TYPE_ARRAY, 4, 16, 4},       {BPF_MAP_TYPE_HASH, 4, 8, 8},
    {BPF_MAP_TYPE_RINGBUF, 0, 0, 4096},   {BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4},
    {BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 2}, {BPF_MAP_TYPE_LRU_HASH, 8, 8, 16},
    {BPF_MAP_TYPE_ARRAY, 4, 64, 1},
};
constexpr size_t kMaps = sizeof(kDefs) / sizeof(kDefs[0]);
constexpr size_t kProgArray = 3;

const std::vector<int>& Maps() {
  static const std::vector<int> fds = [] {
    std::vector<int> out;
    for (const Def& d : kDefs) {
      bpfemu::MapAttr attr;
      attr.map_type = d.type;
      attr.key_size = d.key;
      attr.value_size = d.value;
      attr.max_entries = d.max;
      out.push_back(bpfemu::MapCreate(attr));
      FUZZ_CHECK(out.back() >= 0);
    }
    return out;
  }();
  return fds;
}

size_t ValueSize(const Def& d) {
  return d.type == BPF_MAP_TYPE_PERCPU_ARRAY
             ? ((d.value + 7) & ~size_t{7}) * bpfemu::NumPossibleCpus()
             : d.value;
}

// Every run starts from the same maps (creating them afresh costs more
// than the run): array values zeroed, hash maps emptied. The ring
// buffer's records are neither read nor dropped.
void ResetMaps() {
  const std::vector<int>& maps = Maps();
  for (size_t m = 0; m < kMaps; ++m) {
    const Def& d = kDefs[m];
    if (d.type == BPF_MAP_TYPE_ARRAY || d.type == BPF_MAP_TYPE_PERCPU_ARRAY) {
      const std::vector<uint8_t> zero(ValueSize(d));
      for (uint32_t k = 0; k < d.max; ++k) {
        FUZZ_CHECK(bpfemu::MapUpdateElem(maps[m], &k, zero.data(), BPF_ANY) ==
                   0);
      }
    } else if (d.type == BPF_MAP_TYPE_HASH || d.type == BPF_MAP_TYPE_LRU_HASH) {
      std::vector<uint8_t> key(d.key);
      while (bpfemu::MapGetNextKey(maps[m], nullptr, key.data()) == 0) {
        FUZZ_CHECK(bpfemu::MapDeleteElem(maps[m], key.data()) == 0);
      }
    }
  }
}

// Every entry of a map the program may have changed, keys in order (the
// ring buffer's records are not read back).
std::vector<uint8_t> Dump(int fd, const Def& d) {
  std::vector<uint8_t> out;
  if (d.type == BPF_MAP_TYPE_RINGBUF || d.type == BPF_MAP_TYPE_PROG_ARRAY) {
    return out;
  }
  const size_t value_size = ValueSize(d);
  std::vector<std::vector<uint8_t>> keys;
  std::vector<uint8_t> key(d.key), next(d.key);
  const void* prev = nullptr;
  while (bpfemu::MapGetNextKey(fd, prev, next.data()) == 0) {
    keys.push_back(next);
    key = next;
    prev = key.data();
    if (keys.size() > d.max) break;
  }
  std::sort(keys.begin(), keys.end());
  std::vector<uint8_t> value(value_size);
  for (const auto& k : keys) {
    out.insert(out.end(), k.begin(), k.end());
    const int err = bpfemu::MapLookupElem(fd, k.data(), value.data(), 0);
    out.push_back(static_cast<uint8_t>(-err));
    if (err == 0) out.insert(out.end(), value.begin(), value.end());
  }
  return out;
}

// What one run leaves behind.
struct Outcome {
  int load = 0;  // the load's errno, 0 when it loaded
  uint64_t r0 = 0;
  int err = 0;  // the test run's
  bool faulted = false;
  std::string fault;
  std::vector<uint8_t> data;
  std::vector<std::vector<uint8_t>> maps;
  bool operator==(const Outcome&) const = default;
};

void Print(const char* name, const Outcome& o) {
  std::fprintf(stderr,
               "%s: load %d r0 %#llx err %d faulted %d fault '%s' data %zu "
               "bytes\n",
               name, o.load, static_cast<unsigned long long>(o.r0), o.err,
               o.faulted, o.fault.c_str(), o.data.size());
  for (size_t i = 0; i < o.data.size(); ++i) {
    std::fprintf(stderr, "%02x%s", o.data[i], i % 32 == 31 ? "\n" : "");
  }
  std::fprintf(stderr, "\n");
  for (size_t m = 0; m < o.maps.size(); ++m) {
    std::fprintf(stderr, "  map %zu:", m);
    for (uint8_t b : o.maps[m]) std::fprintf(stderr, " %02x", b);
    std::fprintf(stderr, "\n");
  }
}

// Loads `insns` (whose map loads hold an index into kDefs) and runs it
// once on the reset maps, interpreted or compiled.
Outcome LoadAndRun(bool jit, uint32_t type, const char* license,
                   std::vector<bpfemu::interp::RawInsn> insns) {
  bpfemu::interp::SetJit(jit);
  const std::vector<int>& maps = Maps();
  ResetMaps();
  for (size_t i = 0; i + 1 < insns.size(); ++i) {
    auto& x = insns[i];
    if (x.code == (BPF_LD | BPF_IMM | BPF_DW) &&
        (x.src == BPF_PSEUDO_MAP_FD || x.src == BPF_PSEUDO_MAP_VALUE)) {
      x.imm = maps[static_cast<uint32_t>(x.imm)];
    }
  }
  Outcome o;
  const int fd = bpfemu::native::ProgLoadBytecode(
      type, 0, "fuzz", insns.data(), static_cast<uint32_t>(insns.size()),
      license);
  if (fd < 0) {
    o.load = fd;
  } else {
    const uint32_t slot = 0;
    (void)bpfemu::MapUpdateElem(maps[kProgArray], &slot, &fd, BPF_ANY);
    std::shared_ptr<const bpfemu::Prog> prog;
    FUZZ_CHECK(bpfemu::ProgFromFd(fd, &prog) == 0);
    std::vector<uint8_t> frame(64, 0);
    frame[12] = 0x08;
    if (type == BPF_PROG_TYPE_RAW_TRACEPOINT) {
      uint64_t ctx[12] = {1, 2, 3};
      o.r0 = bpfemu::ProgRunR0(*prog, ctx);
      o.data.assign(reinterpret_cast<const uint8_t*>(ctx),
                    reinterpret_cast<const uint8_t*>(ctx + 12));
    } else {
      const bpfemu::native::PacketResult r =
          type == BPF_PROG_TYPE_XDP ? bpfemu::native::RunXdp(*prog, frame)
                                    : bpfemu::native::RunSkb(*prog, frame);
      o.r0 = r.retval;
      o.err = r.err;
      o.data = r.data_out;
    }
    o.faulted = bpfemu::ProgFaulted();
    o.fault = bpfemu::interp::LastFault();
    for (size_t m = 0; m < kMaps; ++m)
      o.maps.push_back(Dump(maps[m], kDefs[m]));
    (void)bpfemu::MapDeleteElem(maps[kProgArray], &slot);
    bpfemu::CloseFd(fd);
  }
  bpfemu::interp::SetJit(false);
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A fuzzed program may signal this process with any signal (SIGKILL,
  // SIGSEGV): keep them (emu/signal.h).
  static const bool kept =
      (bpfemu::SetSignalSink([](const bpfemu::SentSignal&) {}),
       bpfemu::interp::SetInstructionBudget(20000), true);
  (void)kept;
  bpfemu::fuzz::FuzzInput in(data, size);
  static constexpr uint32_t kTypes[] = {
      BPF_PROG_TYPE_XDP, BPF_PROG_TYPE_SCHED_CLS, BPF_PROG_TYPE_SOCKET_FILTER,
      BPF_PROG_TYPE_RAW_TRACEPOINT};
  const uint32_t type = kTypes[in.Below(4)];
  const char* license = in.Bool() ? "GPL" : "MIT";
  std::vector<bpfemu::interp::RawInsn> insns;
  while (!in.empty() && insns.size() < 512) {
    insns.push_back(in.Get<bpfemu::interp::RawInsn>());
  }
  for (size_t i = 0; i + 1 < insns.size(); ++i) {
    auto& x = insns[i];
    if (x.code == (BPF_LD | BPF_IMM | BPF_DW) &&
        (x.src == BPF_PSEUDO_MAP_FD || x.src == BPF_PSEUDO_MAP_VALUE)) {
      x.imm = static_cast<int32_t>(static_cast<uint32_t>(x.imm) % kMaps);
      if (x.src == BPF_PSEUDO_MAP_VALUE) insns[i + 1].imm &= 63;
    }
  }
  const Outcome a = LoadAndRun(false, type, license, insns);
  const Outcome jit = LoadAndRun(true, type, license, insns);
  const Outcome b = LoadAndRun(false, type, license, insns);
  if (a == b && !(a == jit)) {
    Print("interpreted", a);
    Print("compiled", jit);
    FUZZ_CHECK(a == jit);
  }
  return 0;
}
