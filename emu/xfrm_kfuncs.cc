// SPDX-License-Identifier: Apache-2.0
// File: xfrm_kfuncs.cc
//
// kfy48: the XDP IPsec state kfuncs (xfrm_kfuncs.h). Mirrors
// net/xfrm/xfrm_state_bpf.c (bpf_xdp_get_xfrm_state,
// bpf_xdp_xfrm_state_release) and net/xfrm/xfrm_state.c
// (__xfrm_state_lookup's match, xfrm_state_hold / xfrm_state_put).

#include "emu/xfrm_kfuncs.h"

#include <linux/btf.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string_view>

#include "emu/kernel_btf.h"

namespace bpfemu::xfrmk {

namespace {

// BPF_F_CURRENT_NETNS.
constexpr int32_t kCurrentNetns = -1;

struct Table {
  std::vector<XfrmState> states;
  std::vector<uint8_t> views;  // one view per state, `stride` bytes each
  size_t stride = 8;
};

std::mutex mu;
const Table* table = nullptr;  // guarded by mu
// Every table ever made: views a program holds stay readable.
std::vector<std::unique_ptr<Table>>& Tables() {
  static auto* all = new std::vector<std::unique_ptr<Table>>;
  return *all;
}
// The references lookups handed out, by view.
std::map<const void*, uint64_t>& Held() {
  static auto* held = new std::map<const void*, uint64_t>;
  return *held;
}
// Those this thread's run took and holds (EndRun), by view.
thread_local std::map<const void*, uint64_t> owned;
std::atomic<uint64_t> dropped{0};

// The offset of a member path (a.b) of struct `st`, or -1.
int64_t OffsetOf(const KernelBtf& btf, uint32_t st, std::string_view outer,
                 std::string_view inner) {
  const KernelBtf::Field f = btf.FindMember(st, outer);
  if (f.offset < 0) return -1;
  const KernelBtf::Field g = btf.FindMember(btf.SkipModifiers(f.type), inner);
  return g.offset < 0 ? -1 : f.offset + g.offset;
}

void Put(uint8_t* view, int64_t off, const void* v, size_t n) {
  if (off >= 0) std::memcpy(view + off, v, n);
}

// Caller holds mu.
const Table* Make(const std::vector<XfrmState>& states) {
  auto t = std::make_unique<Table>();
  t->states = states;
  const KernelBtf* btf = KernelBtf::Get();
  int32_t id =
      btf != nullptr ? btf->FindByNameKind("xfrm_state", BTF_KIND_STRUCT) : -1;
  int64_t daddr = -1, spi = -1, proto = -1, mark_v = -1, mark_m = -1,
          family = -1;
  if (id > 0) {
    const int64_t size = btf->Size(static_cast<uint32_t>(id));
    if (size > 0) t->stride = (static_cast<size_t>(size) + 7) & ~size_t{7};
    const auto st = static_cast<uint32_t>(id);
    daddr = OffsetOf(*btf, st, "id", "daddr");
    spi = OffsetOf(*btf, st, "id", "spi");
    proto = OffsetOf(*btf, st, "id", "proto");
    mark_v = OffsetOf(*btf, st, "mark", "v");
    mark_m = OffsetOf(*btf, st, "mark", "m");
    family = OffsetOf(*btf, st, "props", "family");
  }
  t->views.assign(states.empty() ? 1 : states.size() * t->stride, 0);
  for (size_t i = 0; i < states.size(); ++i) {
    uint8_t* v = t->views.data() + i * t->stride;
    const XfrmState& s = states[i];
    Put(v, daddr, s.daddr, sizeof(s.daddr));
    Put(v, spi, &s.spi, sizeof(s.spi));
    Put(v, proto, &s.proto, sizeof(s.proto));
    Put(v, mark_v, &s.mark_v, sizeof(s.mark_v));
    Put(v, mark_m, &s.mark_m, sizeof(s.mark_m));
    Put(v, family, &s.family, sizeof(s.family));
  }
  const Table* out = t.get();
  Tables().push_back(std::move(t));
  return out;
}

const Table* Current() {
  if (table == nullptr) table = Make({});
  return table;
}

bool Matches(const XfrmState& s, const Opts& o) {
  if (s.family != o.family || s.spi != o.spi || s.proto != o.proto) {
    return false;
  }
  const size_t n = o.family == AF_INET6 ? 16 : 4;
  if (std::memcmp(s.daddr, o.daddr, n) != 0) return false;
  return (o.mark & s.mark_m) == s.mark_v;
}

}  // namespace

void SetXfrmStates(const std::vector<XfrmState>& states) {
  std::lock_guard<std::mutex> l(mu);
  table = Make(states);
}

const void* GetXfrmState(void* opts, uint32_t opts_sz) {
  if (opts == nullptr || opts_sz < sizeof(int32_t)) return nullptr;
  auto set_error = [opts](int32_t e) { std::memcpy(opts, &e, sizeof(e)); };
  if (opts_sz != sizeof(Opts)) {
    set_error(-EINVAL);
    return nullptr;
  }
  Opts o;
  std::memcpy(&o, opts, sizeof(o));
  if (o.netns_id < kCurrentNetns) {
    set_error(-EINVAL);
    return nullptr;
  }
  if (o.netns_id >= 0) {
    set_error(-ENONET);
    return nullptr;
  }
  std::lock_guard<std::mutex> l(mu);
  const Table* t = Current();
  for (size_t i = 0; i < t->states.size(); ++i) {
    if (Matches(t->states[i], o)) {
      const void* v = t->views.data() + i * t->stride;
      ++Held()[v];
      ++owned[v];
      run_holds = true;
      return v;
    }
  }
  set_error(-ENOENT);
  return nullptr;
}

int XfrmStateRelease(const void* x) {
  std::lock_guard<std::mutex> l(mu);
  auto it = Held().find(x);
  if (it == Held().end()) return -EINVAL;
  if (--it->second == 0) Held().erase(it);
  if (auto o = owned.find(x); o != owned.end() && --o->second == 0) {
    owned.erase(o);
  }
  return 0;
}

constinit thread_local bool run_holds = false;

void EndRunHeld() {
  run_holds = false;
  if (owned.empty()) return;
  const std::map<const void*, uint64_t> left = std::move(owned);
  owned.clear();
  std::lock_guard<std::mutex> l(mu);
  for (const auto& [v, n] : left) {
    auto it = Held().find(v);
    if (it == Held().end()) continue;
    const uint64_t k = std::min(n, it->second);
    dropped.fetch_add(k, std::memory_order_relaxed);
    if ((it->second -= k) == 0) Held().erase(it);
  }
}

uint64_t DroppedXfrmStates() { return dropped.load(std::memory_order_relaxed); }

uint64_t HeldXfrmStates() {
  std::lock_guard<std::mutex> l(mu);
  uint64_t n = 0;
  for (const auto& [v, count] : Held()) n += count;
  return n;
}

uint64_t InterpGetXfrmState(interp::Vm& vm, uint64_t r1, uint64_t r2,
                            uint64_t r3, uint64_t, uint64_t) {
  if (r1 != reinterpret_cast<uint64_t>(vm.ctx())) {
    vm.Fault("bpf_xdp_get_xfrm_state: R1 is not the context");
  }
  const uint32_t sz = static_cast<uint32_t>(r3);
  if (r2 == 0 || !vm.Writable(r2, sz == 0 ? 1 : sz)) {
    vm.Fault("bpf_xdp_get_xfrm_state: R2 is not %u writable bytes", sz);
  }
  const void* x = GetXfrmState(reinterpret_cast<void*>(r2), sz);
  if (x != nullptr) {
    std::lock_guard<std::mutex> l(mu);
    for (const auto& t : Tables()) {
      const auto* b = t->views.data();
      if (x >= b && x < b + t->views.size()) {
        vm.AddRegion(reinterpret_cast<uint64_t>(b), t->views.size(), false);
      }
    }
  }
  return reinterpret_cast<uint64_t>(x);
}

uint64_t InterpXfrmStateRelease(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                                uint64_t, uint64_t) {
  if (XfrmStateRelease(reinterpret_cast<const void*>(r1)) != 0) {
    vm.Fault(
        "bpf_xdp_xfrm_state_release: R1 must be a struct xfrm_state the "
        "program holds");
  }
  return 0;
}

}  // namespace bpfemu::xfrmk
