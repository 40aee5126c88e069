// SPDX-License-Identifier: Apache-2.0
// File: ct_kfuncs.cc
//
// net/netfilter/nf_conntrack_bpf.c (__bpf_nf_ct_lookup,
// __bpf_nf_ct_alloc_entry, bpf_nf_ct_tuple_parse, bpf_ct_opts_result and
// the kfuncs), net/netfilter/nf_nat_bpf.c bpf_ct_set_nat_info with
// nf_nat_core.c nf_nat_setup_info, and the parts of nf_conntrack_core.c
// they reach (nf_conntrack_hash_check_insert, __nf_ct_change_timeout,
// nf_ct_change_status_common, the lookup's expiry) over the emulated
// table (ct_kfuncs.h).

#include "emu/ct_kfuncs.h"

#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <unordered_map>

#include "emu/kernel_btf.h"
#include "emu/local_mutex.h"
#include "emu/version.h"

namespace bpfemu::ct {

namespace {

// include/uapi/linux/in.h; NF_CT_DEFAULT_ZONE_DIR (ORIG | REPL).
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kZoneDirDefault = 3;
constexpr int32_t kCurrentNetns = -1;  // BPF_F_CURRENT_NETNS
constexpr uint8_t kCtRegionTag = 9;    // Vm records of handed-out entries

// struct bpf_ct_opts's members.
constexpr uint32_t kOptNetns = 0, kOptError = 4, kOptL4proto = 8, kOptDir = 9,
                   kOptZoneId = 10, kOptZoneDir = 12, kOptReserved = 13;

// struct nf_conntrack_tuple's members (unchanged since 2.6).
constexpr uint32_t kTSrcU3 = 0, kTSrcU = 16, kTL3num = 18, kTDstU3 = 20,
                   kTDstU = 36, kTProtonum = 38, kTDir = 39;

struct Entry {
  uint8_t* obj = nullptr;
  bool confirmed = false;
  bool in_table = false;
  uint32_t prog_refs = 0;  // references programs hold
  uint64_t seq = 0;        // insertion order
};

LocalMutex mu;
std::unordered_map<const void*, Entry*>& Live() {
  static auto* m = new std::unordered_map<const void*, Entry*>;
  return *m;
}
uint64_t next_seq = 0;
std::atomic<uint64_t> leaked{0};
std::atomic<bool> jiffies_fixed{false};
std::atomic<uint32_t> fixed_jiffies{0};

// What this thread's runs hold: entry -> references.
thread_local std::map<const void*, uint32_t> owned;

Layout MakeLayout() {
  // 6.18's x86-64 layout, for a machine without kernel BTF.
  Layout l{248, 0, 8, 12, 16, 56, 16, 128, 168};
  const KernelBtf* btf = KernelBtf::Get();
  if (btf == nullptr) return l;
  const int32_t nc = btf->FindByNameKind("nf_conn", BTF_KIND_STRUCT);
  const int32_t th =
      btf->FindByNameKind("nf_conntrack_tuple_hash", BTF_KIND_STRUCT);
  if (nc <= 0 || th <= 0) return l;
  const auto off = [&](int32_t id, const char* name, uint32_t dflt) {
    const KernelBtf::Field f = btf->FindMember(id, name);
    return f.offset >= 0 ? static_cast<uint32_t>(f.offset) : dflt;
  };
  const int64_t size = btf->Size(nc), hsize = btf->Size(th);
  if (size > 0) l.size = static_cast<uint32_t>(size);
  if (hsize > 0) l.hash_size = static_cast<uint32_t>(hsize);
  l.use = off(nc, "ct_general", l.use);
  l.timeout = off(nc, "timeout", l.timeout);
  l.zone = off(nc, "zone", l.zone);
  l.tuplehash = off(nc, "tuplehash", l.tuplehash);
  l.status = off(nc, "status", l.status);
  l.mark = off(nc, "mark", l.mark);
  l.tuple = off(th, "tuple", l.tuple);
  return l;
}

template <typename T>
T Get(const uint8_t* p, uint32_t off) {
  T v;
  std::memcpy(&v, p + off, sizeof(v));
  return v;
}
template <typename T>
void Put(uint8_t* p, uint32_t off, T v) {
  std::memcpy(p + off, &v, sizeof(v));
}

uint32_t Status(const uint8_t* o) {
  return static_cast<uint32_t>(Get<uint64_t>(o, GetLayout().status));
}
void SetStatusBits(uint8_t* o, uint64_t s) { Put(o, GetLayout().status, s); }

uint8_t* TupleAt(uint8_t* o, int dir) {
  const Layout& l = GetLayout();
  return o + l.tuplehash + dir * l.hash_size + l.tuple;
}

Tuple ReadTuple(uint8_t* o, int dir) {
  const uint8_t* t = TupleAt(o, dir);
  Tuple r;
  std::memcpy(r.src, t + kTSrcU3, 16);
  r.sport = Get<uint16_t>(t, kTSrcU);
  r.l3num = Get<uint16_t>(t, kTL3num);
  std::memcpy(r.dst, t + kTDstU3, 16);
  r.dport = Get<uint16_t>(t, kTDstU);
  r.protonum = t[kTProtonum];
  r.dir = t[kTDir];
  return r;
}

void WriteTuple(uint8_t* o, int dir, const Tuple& r) {
  uint8_t* t = TupleAt(o, dir);
  std::memcpy(t + kTSrcU3, r.src, 16);
  Put(t, kTSrcU, r.sport);
  Put(t, kTL3num, r.l3num);
  std::memcpy(t + kTDstU3, r.dst, 16);
  Put(t, kTDstU, r.dport);
  t[kTProtonum] = r.protonum;
  t[kTDir] = r.dir;
}

// nf_ct_zone_id(): the zone's id in direction `dir`, else the default 0.
uint16_t ZoneId(uint16_t id, uint8_t zdir, int dir) {
  return (zdir & (1u << dir)) != 0 ? id : 0;
}
uint16_t EntryZoneId(const uint8_t* o, int dir) {
  const uint32_t z = GetLayout().zone;
  return ZoneId(Get<uint16_t>(o, z), o[z + 3], dir);
}

bool Expired(const uint8_t* o) {
  return static_cast<int32_t>(Get<uint32_t>(o, GetLayout().timeout) -
                              NowJiffies()) <= 0;
}

void WriteUse(Entry* e) {
  const uint32_t use =
      e->confirmed ? e->prog_refs + (e->in_table ? 1u : 0u) : 0u;
  Put(e->obj, GetLayout().use, use);
}

// Frees `e` once nothing holds it. mu held.
void MaybeFree(Entry* e) {
  if (e->in_table || e->prog_refs != 0) {
    WriteUse(e);
    return;
  }
  Live().erase(e->obj);
  std::free(e->obj);
  delete e;
}

// The lookup-time gc (____nf_conntrack_find's nf_ct_gc_expired): expired
// confirmed entries leave the table, dying. mu held.
void Gc() {
  std::vector<Entry*> gone;
  for (auto& [p, e] : Live()) {
    if (e->in_table && Expired(e->obj)) gone.push_back(e);
  }
  for (Entry* e : gone) {
    e->in_table = false;
    SetStatusBits(e->obj, Status(e->obj) | kIpsDying);
    MaybeFree(e);
  }
}

void Own(const void* p) {
  ++owned[p];
  run_holds = true;
}
// Drops one of this thread's references; false if it holds none.
bool Disown(const void* p) {
  auto it = owned.find(p);
  if (it == owned.end()) return false;
  if (--it->second == 0) owned.erase(it);
  return true;
}
bool Holds(const void* p) { return owned.count(p) != 0; }

Entry* Find(const void* p) {
  auto it = Live().find(p);
  return it == Live().end() ? nullptr : it->second;
}

// __nf_ct_set_timeout: capped at INT_MAX; absolute once confirmed.
void SetTimeoutJiffies(uint8_t* o, uint64_t t, bool confirmed) {
  if (t > 0x7fffffffu) t = 0x7fffffffu;
  const uint32_t v = confirmed ? NowJiffies() + static_cast<uint32_t>(t)
                               : static_cast<uint32_t>(t);
  Put(o, GetLayout().timeout, v);
}

// msecs_to_jiffies() at HZ 250; a "negative" count is MAX_JIFFY_OFFSET.
uint64_t MsecsToJiffies(uint32_t m) {
  if (static_cast<int32_t>(m) < 0) return (uint64_t{1} << 62) - 1;
  return (uint64_t{m} + 1000 / kHz - 1) / (1000 / kHz);
}

// The shared head of __bpf_nf_ct_lookup and __bpf_nf_ct_alloc_entry.
struct Opts {
  int32_t netns = 0;
  uint8_t l4proto = 0;
  uint16_t zone_id = 0;
  uint8_t zone_dir = 0;
};
int ReadOpts(const void* tuple, const uint8_t* opts, uint32_t opts_sz,
             Opts* o) {
  if (opts == nullptr || tuple == nullptr) return -EINVAL;
  // 6.1 takes 12 bytes only (CtOptsHaveZone); its reserved[2] is the later
  // ct_zone_id, refused when nonzero below.
  const bool zone_opts = opts_sz == kOptsSz && CtOptsHaveZone(TargetKernel());
  if (!zone_opts && opts_sz != kOptsSzOld) return -EINVAL;
  o->netns = Get<int32_t>(opts, kOptNetns);
  o->l4proto = opts[kOptL4proto];
  o->zone_id = Get<uint16_t>(opts, kOptZoneId);
  if (opts_sz == kOptsSz) {
    o->zone_dir = opts[kOptZoneDir];
    if (opts[kOptReserved] != 0 || opts[kOptReserved + 1] != 0 ||
        opts[kOptReserved + 2] != 0) {
      return -EINVAL;
    }
  } else if (o->zone_id != 0) {
    return -EINVAL;
  }
  return 0;
}

// The zone of the lookup or entry (nf_ct_zone_init / nf_ct_zone_dflt),
// writing the default direction back as the kernel does.
void ResolveZone(uint8_t* opts, uint32_t opts_sz, Opts* o) {
  if (opts_sz == kOptsSz) {
    if (o->zone_dir == 0) {
      o->zone_dir = kZoneDirDefault;
      opts[kOptZoneDir] = o->zone_dir;
    }
  } else {
    o->zone_id = 0;
    o->zone_dir = kZoneDirDefault;
  }
}

void* Result(uint8_t* opts, uint32_t opts_sz, int err, void* ct) {
  if (err == 0) return ct;
  if (opts != nullptr && opts_sz >= kOptError + 4) {
    Put(opts, kOptError, static_cast<int32_t>(err));
  }
  return nullptr;
}

// Whether a confirmed entry holds `t` in direction `d` within the zone.
Entry* FindTuple(const Tuple& t, uint16_t zone_id, uint8_t zone_dir, int* dir) {
  Entry* best = nullptr;
  for (auto& [p, e] : Live()) {
    if (!e->in_table) continue;
    for (int d = 0; d < 2; ++d) {
      if (ReadTuple(e->obj, d) == t &&
          EntryZoneId(e->obj, d) == ZoneId(zone_id, zone_dir, d) &&
          (best == nullptr || e->seq < best->seq)) {
        best = e;
        *dir = d;
      }
    }
  }
  return best;
}

uint8_t* NewObject() {
  const Layout& l = GetLayout();
  const size_t size = (l.size + 7) & ~size_t{7};
  auto* o = static_cast<uint8_t*>(std::aligned_alloc(8, size));
  if (o != nullptr) std::memset(o, 0, size);
  return o;
}

// A new, unconfirmed entry (__nf_conntrack_alloc). mu held.
Entry* NewEntry(const Tuple& orig, const Tuple& reply, uint16_t zone_id,
                uint8_t zone_dir) {
  uint8_t* o = NewObject();
  if (o == nullptr) return nullptr;
  auto* e = new Entry;
  e->obj = o;
  WriteTuple(o, 0, orig);
  WriteTuple(o, 1, reply);
  const uint32_t z = GetLayout().zone;
  Put(o, z, zone_id);
  o[z + 3] = zone_dir;
  Live()[o] = e;
  return e;
}

// nf_conntrack_hash_check_insert's duplicate test. mu held.
bool Clashes(Entry* n) {
  const uint32_t z = GetLayout().zone;
  const uint16_t id = Get<uint16_t>(n->obj, z);
  const uint8_t zdir = n->obj[z + 3];
  for (int d = 0; d < 2; ++d) {
    const Tuple t = ReadTuple(n->obj, d);
    for (auto& [p, e] : Live()) {
      if (!e->in_table) continue;
      for (int h = 0; h < 2; ++h) {
        if (ReadTuple(e->obj, h) == t &&
            EntryZoneId(e->obj, h) == ZoneId(id, zdir, h)) {
          return true;
        }
      }
    }
  }
  return false;
}

// Confirms `e` into the table: 0 or -EEXIST. mu held.
int Confirm(Entry* e) {
  Gc();
  if (Clashes(e)) return -EEXIST;
  e->confirmed = true;
  e->in_table = true;
  e->seq = next_seq++;
  WriteUse(e);
  return 0;
}

}  // namespace

bool Tuple::operator==(const Tuple& o) const {
  return std::memcmp(src, o.src, 16) == 0 && sport == o.sport &&
         l3num == o.l3num && std::memcmp(dst, o.dst, 16) == 0 &&
         dport == o.dport && protonum == o.protonum;
}

const Layout& GetLayout() {
  static const Layout l = MakeLayout();
  return l;
}

uint32_t NowJiffies() {
  if (jiffies_fixed.load(std::memory_order_acquire)) {
    return fixed_jiffies.load(std::memory_order_relaxed);
  }
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  const uint64_t ns = uint64_t(ts.tv_sec) * 1000000000ULL + ts.tv_nsec;
  const uint64_t initial = static_cast<uint32_t>(-300 * int64_t{kHz});
  return static_cast<uint32_t>(initial + ns / (1000000000ULL / kHz));
}

void SetJiffiesForTest(std::optional<uint32_t> jiffies) {
  if (jiffies) fixed_jiffies.store(*jiffies, std::memory_order_relaxed);
  jiffies_fixed.store(jiffies.has_value(), std::memory_order_release);
}

int ParseTuple(const void* bpf_tuple, uint32_t size, uint8_t l4proto,
               uint8_t dir, Tuple* out) {
  if (l4proto != kProtoTcp && l4proto != kProtoUdp) return -EPROTO;
  *out = Tuple{};
  Tuple t;
  const auto* b = static_cast<const uint8_t*>(bpf_tuple);
  uint8_t* src = dir != 0 ? t.dst : t.src;
  uint8_t* dst = dir != 0 ? t.src : t.dst;
  uint16_t* sport = dir != 0 ? &t.dport : &t.sport;
  uint16_t* dport = dir != 0 ? &t.sport : &t.dport;
  uint32_t alen = 0;
  if (b != nullptr && size == kTupleV4Sz) {
    t.l3num = AF_INET;
    alen = 4;
  } else if (b != nullptr && size == kTupleV6Sz) {
    t.l3num = AF_INET6;
    alen = 16;
  } else {
    return -EAFNOSUPPORT;
  }
  std::memcpy(src, b, alen);
  std::memcpy(dst, b + alen, alen);
  std::memcpy(sport, b + 2 * alen, 2);
  std::memcpy(dport, b + 2 * alen + 2, 2);
  t.protonum = l4proto;
  t.dir = dir;
  *out = t;
  return 0;
}

Tuple Invert(const Tuple& t) {
  Tuple r;
  std::memcpy(r.src, t.dst, 16);
  std::memcpy(r.dst, t.src, 16);
  r.sport = t.dport;
  r.dport = t.sport;
  r.l3num = t.l3num;
  r.protonum = t.protonum;
  r.dir = t.dir != 0 ? 0 : 1;
  return r;
}

void* Lookup(const void* tuple, uint32_t tuple_sz, void* opts_p,
             uint32_t opts_sz) {
  auto* opts = static_cast<uint8_t*>(opts_p);
  Opts o;
  int err = ReadOpts(tuple, opts, opts_sz, &o);
  if (err != 0) return Result(opts, opts_sz, err, nullptr);
  if (o.l4proto != kProtoTcp && o.l4proto != kProtoUdp) {
    return Result(opts, opts_sz, -EPROTO, nullptr);
  }
  if (o.netns < kCurrentNetns) return Result(opts, opts_sz, -EINVAL, nullptr);
  Tuple t;
  err = ParseTuple(tuple, tuple_sz, o.l4proto, 0, &t);
  if (err != 0) return Result(opts, opts_sz, err, nullptr);
  // get_net_ns_by_id: bpfemu's namespace knows no peers by id.
  if (o.netns >= 0) return Result(opts, opts_sz, -ENONET, nullptr);
  ResolveZone(opts, opts_sz, &o);
  LocalMutexLock l(&mu);
  Gc();
  int dir = 0;
  Entry* e = FindTuple(t, o.zone_id, o.zone_dir, &dir);
  if (e == nullptr) return Result(opts, opts_sz, -ENOENT, nullptr);
  ++e->prog_refs;
  WriteUse(e);
  Own(e->obj);
  opts[kOptDir] = static_cast<uint8_t>(dir);
  return e->obj;
}

void* Alloc(const void* tuple, uint32_t tuple_sz, void* opts_p,
            uint32_t opts_sz) {
  auto* opts = static_cast<uint8_t*>(opts_p);
  Opts o;
  int err = ReadOpts(tuple, opts, opts_sz, &o);
  if (err != 0) return Result(opts, opts_sz, err, nullptr);
  if (o.netns < kCurrentNetns) return Result(opts, opts_sz, -EINVAL, nullptr);
  Tuple orig, reply;
  err = ParseTuple(tuple, tuple_sz, o.l4proto, 0, &orig);
  if (err == 0) err = ParseTuple(tuple, tuple_sz, o.l4proto, 1, &reply);
  if (err != 0) return Result(opts, opts_sz, err, nullptr);
  if (o.netns >= 0) return Result(opts, opts_sz, -ENONET, nullptr);
  ResolveZone(opts, opts_sz, &o);
  LocalMutexLock l(&mu);
  Entry* e = NewEntry(orig, reply, o.zone_id, o.zone_dir);
  if (e == nullptr) return Result(opts, opts_sz, -ENOMEM, nullptr);
  // __bpf_nf_ct_alloc_entry: 10 seconds, relative until confirmed.
  SetTimeoutJiffies(e->obj, uint64_t{10} * kHz, false);
  e->prog_refs = 1;
  WriteUse(e);
  Own(e->obj);
  return e->obj;
}

void* Insert(void* ct, int* err) {
  LocalMutexLock l(&mu);
  Entry* e = Find(ct);
  if (e == nullptr || e->confirmed || !Holds(ct)) {
    if (err != nullptr) *err = -EINVAL;
    return nullptr;
  }
  // bpf_ct_insert_entry: the timeout becomes absolute, IPS_CONFIRMED is
  // set, then the table is checked.
  const uint32_t tl = GetLayout().timeout;
  Put(e->obj, tl, Get<uint32_t>(e->obj, tl) + NowJiffies());
  SetStatusBits(e->obj, Status(e->obj) | kIpsConfirmed);
  const int r = Confirm(e);
  if (err != nullptr) *err = r;
  if (r != 0) {
    // nf_conntrack_free: the program's reference goes with it.
    Disown(ct);
    e->prog_refs = 0;
    MaybeFree(e);
    return nullptr;
  }
  return ct;
}

int Release(void* ct) {
  LocalMutexLock l(&mu);
  Entry* e = Find(ct);
  if (e == nullptr || !e->confirmed || !Holds(ct)) return -EINVAL;
  Disown(ct);
  --e->prog_refs;
  MaybeFree(e);
  return 0;
}

void SetTimeout(void* ct, uint32_t msecs) {
  LocalMutexLock l(&mu);
  Entry* e = Find(ct);
  if (e == nullptr) return;
  SetTimeoutJiffies(e->obj, MsecsToJiffies(msecs), e->confirmed);
}

int ChangeTimeout(void* ct, uint32_t msecs) {
  LocalMutexLock l(&mu);
  Entry* e = Find(ct);
  if (e == nullptr) return -EINVAL;
  const uint32_t s = Status(e->obj);
  if ((s & kIpsFixedTimeout) != 0) return -EPERM;
  SetTimeoutJiffies(e->obj, MsecsToJiffies(msecs), e->confirmed);
  if ((s & kIpsDying) != 0) return -ETIME;
  return 0;
}

int SetStatus(void* ct, uint32_t status) { return ChangeStatus(ct, status); }

int ChangeStatus(void* ct, uint32_t status) {
  LocalMutexLock l(&mu);
  Entry* e = Find(ct);
  if (e == nullptr) return -EINVAL;
  uint64_t cur = Get<uint64_t>(e->obj, GetLayout().status);
  const uint64_t d = cur ^ status;
  if ((d & (kIpsExpected | kIpsConfirmed | kIpsDying)) != 0) return -EBUSY;
  if ((d & kIpsSeenReply) != 0 && (status & kIpsSeenReply) == 0) return -EBUSY;
  if ((d & kIpsAssured) != 0 && (status & kIpsAssured) == 0) return -EBUSY;
  // __nf_ct_change_status(ct, status, 0): sets the changeable bits below
  // __IPS_MAX_BIT that `status` has; clears none.
  cur |= status & ~kIpsUnchangeable & 0xffffu;
  SetStatusBits(e->obj, cur);
  return 0;
}

int SetNatInfo(void* ct, const void* addr, int32_t port, int32_t manip) {
  LocalMutexLock l(&mu);
  Entry* e = Find(ct);
  if (e == nullptr) return -EINVAL;
  uint8_t* o = e->obj;
  const Tuple orig = ReadTuple(o, 0);
  if (orig.l3num != AF_INET && orig.l3num != AF_INET6) return -EINVAL;
  if (manip != 0 && manip != 1) return -EINVAL;
  // nf_nat_setup_info: nothing for a confirmed entry (NF_ACCEPT); a second
  // binding of one kind is NF_DROP (with a WARN in the kernel): -ENOMEM.
  if (e->confirmed) return 0;
  const uint32_t s = Status(o);
  if ((s & (manip == 0 ? kIpsSrcNatDone : kIpsDstNatDone)) != 0) {
    return -ENOMEM;
  }
  const Tuple curr = Invert(ReadTuple(o, 1));
  Tuple nt = curr;
  // get_unique_tuple with one address (find_best_ips_proto copies the
  // whole nf_inet_addr) and, for port > 0, one port.
  uint8_t* a = manip == 0 ? nt.src : nt.dst;
  std::memcpy(a, addr, 16);
  if (port > 0) {
    const uint16_t p = htons(static_cast<uint16_t>(port));
    (manip == 0 ? nt.sport : nt.dport) = p;
  }
  uint64_t status = s;
  if (!(nt == curr)) {
    WriteTuple(o, 1, Invert(nt));
    status |= manip == 0 ? kIpsSrcNat : kIpsDstNat;
  }
  status |= manip == 0 ? kIpsSrcNatDone : kIpsDstNatDone;
  SetStatusBits(o, status);
  return 0;
}

bool IsEntry(const void* p, bool* confirmed) {
  LocalMutexLock l(&mu);
  Entry* e = Find(p);
  if (e != nullptr && confirmed != nullptr) *confirmed = e->confirmed;
  return e != nullptr;
}

constinit thread_local bool run_holds = false;

void EndRunHeld() {
  run_holds = false;
  if (owned.empty()) return;
  LocalMutexLock l(&mu);
  const std::map<const void*, uint32_t> left = std::move(owned);
  owned.clear();
  for (const auto& [p, n] : left) {
    Entry* e = Find(p);
    if (e == nullptr) continue;
    leaked.fetch_add(n, std::memory_order_relaxed);
    e->prog_refs = e->prog_refs > n ? e->prog_refs - n : 0;
    MaybeFree(e);
  }
}

std::vector<EntryInfo> Entries() {
  LocalMutexLock l(&mu);
  Gc();
  std::vector<Entry*> es;
  for (auto& [p, e] : Live()) {
    if (e->in_table) es.push_back(e);
  }
  std::sort(es.begin(), es.end(),
            [](const Entry* a, const Entry* b) { return a->seq < b->seq; });
  const Layout& lay = GetLayout();
  std::vector<EntryInfo> out;
  for (Entry* e : es) {
    EntryInfo i;
    i.orig = ReadTuple(e->obj, 0);
    i.reply = ReadTuple(e->obj, 1);
    i.zone_id = Get<uint16_t>(e->obj, lay.zone);
    i.zone_dir = e->obj[lay.zone + 3];
    i.status = Status(e->obj);
    i.timeout = Get<uint32_t>(e->obj, lay.timeout);
    i.mark = Get<uint32_t>(e->obj, lay.mark);
    i.use = Get<uint32_t>(e->obj, lay.use);
    i.confirmed = e->confirmed;
    i.addr = e->obj;
    out.push_back(i);
  }
  return out;
}

int Seed(const Tuple& orig, uint32_t status, uint32_t timeout_jiffies,
         uint32_t mark, uint16_t zone_id) {
  if ((orig.l3num != AF_INET && orig.l3num != AF_INET6) ||
      (orig.protonum != kProtoTcp && orig.protonum != kProtoUdp)) {
    return -EINVAL;
  }
  Tuple o = orig;
  o.dir = 0;
  LocalMutexLock l(&mu);
  Entry* e = NewEntry(o, Invert(o), zone_id, kZoneDirDefault);
  if (e == nullptr) return -ENOMEM;
  SetStatusBits(e->obj, (status & 0xffffu) | kIpsConfirmed);
  Put(e->obj, GetLayout().mark, mark);
  SetTimeoutJiffies(e->obj, timeout_jiffies, true);
  const int r = Confirm(e);
  if (r != 0) MaybeFree(e);
  return r;
}

void Flush() {
  LocalMutexLock l(&mu);
  std::vector<Entry*> all;
  for (auto& [p, e] : Live()) {
    if (e->in_table) all.push_back(e);
  }
  for (Entry* e : all) {
    e->in_table = false;
    SetStatusBits(e->obj, Status(e->obj) | kIpsDying);
    MaybeFree(e);
  }
}

uint64_t LiveEntries() {
  LocalMutexLock l(&mu);
  return Live().size();
}

uint64_t LeakedRefs() { return leaked.load(std::memory_order_relaxed); }

// The interpreter's face.
namespace {

// The skb kfuncs take a struct __sk_buff, the XDP ones a struct xdp_md:
// the verifier takes only the program's own context, and only from the
// program type whose context that is (both sets are offered to both).
void NeedCtx(interp::Vm& vm, uint64_t r1, uint32_t prog_type,
             const char* name) {
  if (r1 != reinterpret_cast<uint64_t>(vm.ctx()) ||
      vm.prog_type() != prog_type) {
    vm.Fault("%s: R1 must be the program's context", name);
  }
}

void NeedMem(interp::Vm& vm, uint64_t p, uint64_t size, const char* name,
             int reg) {
  const uint32_t n = static_cast<uint32_t>(size);
  if (n == 0) return;
  if (!vm.Readable(p, n) || !vm.Writable(p, n)) {
    vm.Fault("%s: R%d is not %u bytes of memory the program may write", name,
             reg, n);
  }
}

void ShowEntry(interp::Vm& vm, uint64_t p) {
  if (p == 0 || vm.HasRegion(p, kCtRegionTag)) return;
  const Layout& l = GetLayout();
  // The mark first: the run's records are searched in slot order and it
  // gets the lower free slot, so it is the writable part of the entry.
  vm.AddRegion(p + l.mark, 4, true, kCtRegionTag);
  vm.AddRegion(p, l.size, false, kCtRegionTag);
}

void HideEntry(interp::Vm& vm, uint64_t p) {
  if (Holds(reinterpret_cast<const void*>(p))) return;
  vm.RemoveRegion(p + GetLayout().mark);
  vm.RemoveRegion(p);
}

// The entry in R1, held by the program: `init` the allocated kind
// (nf_conn___init), else either kind (a non-strict struct nf_conn match).
void NeedEntry(interp::Vm& vm, uint64_t p, bool init, bool confirmed_only,
               const char* name) {
  bool confirmed = false;
  const void* v = reinterpret_cast<const void*>(p);
  if (!IsEntry(v, &confirmed) || !Holds(v) || (init && confirmed) ||
      (confirmed_only && !confirmed)) {
    vm.Fault("%s: R1 must be a referenced struct %s", name,
             init ? "nf_conn___init" : "nf_conn");
  }
}

template <bool kAlloc, uint32_t kProgType>
uint64_t CtGet(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
               uint64_t r4, uint64_t r5, const char* name) {
  NeedCtx(vm, r1, kProgType, name);
  NeedMem(vm, r2, r3, name, 2);
  NeedMem(vm, r4, r5, name, 4);
  const auto* tuple = reinterpret_cast<const void*>(r2);
  auto* opts = reinterpret_cast<void*>(r4);
  const uint32_t tsz = static_cast<uint32_t>(r3),
                 osz = static_cast<uint32_t>(r5);
  void* ct =
      kAlloc ? Alloc(tuple, tsz, opts, osz) : Lookup(tuple, tsz, opts, osz);
  ShowEntry(vm, reinterpret_cast<uint64_t>(ct));
  return reinterpret_cast<uint64_t>(ct);
}

}  // namespace

uint64_t InterpSkbLookup(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                         uint64_t r4, uint64_t r5) {
  return CtGet<false, BPF_PROG_TYPE_SCHED_CLS>(vm, r1, r2, r3, r4, r5,
                                               "bpf_skb_ct_lookup");
}
uint64_t InterpXdpLookup(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                         uint64_t r4, uint64_t r5) {
  return CtGet<false, BPF_PROG_TYPE_XDP>(vm, r1, r2, r3, r4, r5,
                                         "bpf_xdp_ct_lookup");
}
uint64_t InterpSkbAlloc(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                        uint64_t r4, uint64_t r5) {
  return CtGet<true, BPF_PROG_TYPE_SCHED_CLS>(vm, r1, r2, r3, r4, r5,
                                              "bpf_skb_ct_alloc");
}
uint64_t InterpXdpAlloc(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                        uint64_t r4, uint64_t r5) {
  return CtGet<true, BPF_PROG_TYPE_XDP>(vm, r1, r2, r3, r4, r5,
                                        "bpf_xdp_ct_alloc");
}

uint64_t InterpInsert(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t, uint64_t,
                      uint64_t) {
  NeedEntry(vm, r1, true, false, "bpf_ct_insert_entry");
  void* ct = Insert(reinterpret_cast<void*>(r1));
  if (ct == nullptr) HideEntry(vm, r1);
  return reinterpret_cast<uint64_t>(ct);
}

uint64_t InterpRelease(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                       uint64_t, uint64_t) {
  NeedEntry(vm, r1, false, true, "bpf_ct_release");
  Release(reinterpret_cast<void*>(r1));
  HideEntry(vm, r1);
  return 0;
}

uint64_t InterpSetTimeout(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                          uint64_t, uint64_t) {
  NeedEntry(vm, r1, true, false, "bpf_ct_set_timeout");
  SetTimeout(reinterpret_cast<void*>(r1), static_cast<uint32_t>(r2));
  return 0;
}

uint64_t InterpChangeTimeout(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                             uint64_t, uint64_t) {
  NeedEntry(vm, r1, false, false, "bpf_ct_change_timeout");
  return static_cast<uint64_t>(static_cast<int64_t>(
      ChangeTimeout(reinterpret_cast<void*>(r1), static_cast<uint32_t>(r2))));
}

uint64_t InterpSetStatus(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                         uint64_t, uint64_t) {
  NeedEntry(vm, r1, true, false, "bpf_ct_set_status");
  return static_cast<uint64_t>(static_cast<int64_t>(
      SetStatus(reinterpret_cast<void*>(r1), static_cast<uint32_t>(r2))));
}

uint64_t InterpChangeStatus(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                            uint64_t, uint64_t) {
  NeedEntry(vm, r1, false, false, "bpf_ct_change_status");
  return static_cast<uint64_t>(static_cast<int64_t>(
      ChangeStatus(reinterpret_cast<void*>(r1), static_cast<uint32_t>(r2))));
}

uint64_t InterpSetNatInfo(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                          uint64_t r4, uint64_t) {
  NeedEntry(vm, r1, true, false, "bpf_ct_set_nat_info");
  if (!vm.Readable(r2, 16)) {
    vm.Fault("bpf_ct_set_nat_info: R2 is not a readable union nf_inet_addr");
  }
  return static_cast<uint64_t>(static_cast<int64_t>(
      SetNatInfo(reinterpret_cast<void*>(r1), reinterpret_cast<const void*>(r2),
                 static_cast<int32_t>(r3), static_cast<int32_t>(r4))));
}

}  // namespace bpfemu::ct
