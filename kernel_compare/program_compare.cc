// SPDX-License-Identifier: Apache-2.0
// bpfemu::compare (program_compare.h): a user's BPF object on the kernel and
// on the emulator, input by input. The kernel side mirrors what a libbpf
// user does (tools/lib/bpf: bpf_object__open_file / __load,
// bpf_prog_test_run_opts, ring_buffer__consume); the emulator side is
// loader/object.h's bytecode object in the interpreter.

#include "kernel_compare/program_compare.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "emu/cpu.h"
#include "emu/interp.h"
#include "emu/perf_buffer.h"
#include "emu/prog.h"
#include "emu/ringbuf_consumer.h"
#include "emu/syscall.h"
#include "loader/object.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"

namespace bpfemu::compare {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr size_t kMaxCtx = 12 * sizeof(uint64_t);  // MAX_BPF_FUNC_ARGS u64s

std::string Hex(const Bytes& b) {
  std::string s;
  for (size_t i = 0; i < b.size(); ++i) {
    absl::StrAppendFormat(&s, i == 0 ? "%02x" : " %02x", b[i]);
  }
  return s;
}

bool IsPacketProgram(uint32_t type) {
  return type == BPF_PROG_TYPE_XDP || type == BPF_PROG_TYPE_SCHED_CLS ||
         type == BPF_PROG_TYPE_SCHED_ACT || type == BPF_PROG_TYPE_SOCKET_FILTER;
}

// bpf_prog_test_run_raw_tp is the only test run taking a bare context
// here (tracing programs' runs refuse ctx_in).
bool IsCtxProgram(uint32_t type) {
  return type == BPF_PROG_TYPE_RAW_TRACEPOINT;
}

enum class Walk { kOrdered, kSet, kKeysOnly, kDrain, kRing, kSkip };

Walk WalkOf(uint32_t type) {
  switch (type) {
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PERCPU_ARRAY:
    case BPF_MAP_TYPE_LPM_TRIE:
      return Walk::kOrdered;
    case BPF_MAP_TYPE_HASH:
    case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_LRU_HASH:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH:
      return Walk::kSet;
    case BPF_MAP_TYPE_PROG_ARRAY:
    case BPF_MAP_TYPE_ARRAY_OF_MAPS:
    case BPF_MAP_TYPE_HASH_OF_MAPS:
    case BPF_MAP_TYPE_SOCKMAP:
    case BPF_MAP_TYPE_SOCKHASH:
    case BPF_MAP_TYPE_REUSEPORT_SOCKARRAY:
    case BPF_MAP_TYPE_XSKMAP:
    case BPF_MAP_TYPE_CGROUP_ARRAY:
    // Device and CPU maps: their values carry program ids.
    case BPF_MAP_TYPE_DEVMAP:
    case BPF_MAP_TYPE_DEVMAP_HASH:
    case BPF_MAP_TYPE_CPUMAP:
      return Walk::kKeysOnly;
    case BPF_MAP_TYPE_QUEUE:
    case BPF_MAP_TYPE_STACK:
      return Walk::kDrain;
    case BPF_MAP_TYPE_RINGBUF:
    case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
      return Walk::kRing;
    default:
      return Walk::kSkip;
  }
}

// What one side answered for one test run.
struct RunOut {
  int err = 0;
  uint32_t retval = 0;
  Bytes data_out;
  std::string fault;  // the emulator's interpreter stopped the run
};

// One loaded copy of the object: the kernel's or the emulator's.
class Instance {
 public:
  virtual ~Instance() = default;
  virtual RunOut Run(const std::string& prog, uint32_t type, const Bytes& in,
                     int repeat) = 0;
  virtual int MapFd(const std::string& name) = 0;
  virtual int GetNextKey(int fd, const void* key, void* next) = 0;
  virtual int Lookup(int fd, const void* key, void* value) = 0;
  virtual int Pop(int fd, void* value) = 0;
  virtual int Push(int fd, const void* value) = 0;
  // Every element of an array in one BPF_MAP_LOOKUP_BATCH: true with
  // `values` holding n values in index order, false to look up one by one.
  virtual bool LookupArray(int fd, uint32_t n, size_t value_size,
                           Bytes* values) {
    (void)fd, (void)n, (void)value_size, (void)values;
    return false;
  }
  virtual void Enter() = 0;  // before any operation on this side
  // The ring buffer records, or perf buffer samples and lost counts,
  // produced since the last call, oldest first.
  std::vector<Bytes> TakeRecords(const std::string& map) {
    Consume();
    std::vector<Bytes> out;
    out.swap(records_[map]);
    return out;
  }
  virtual void Consume() = 0;

 protected:
  struct Sink {
    Instance* self;
    std::string map;
  };
  static int OnRecord(void* ctx, void* data, size_t size) {
    auto* s = static_cast<Sink*>(ctx);
    const auto* p = static_cast<const uint8_t*>(data);
    s->self->records_[s->map].emplace_back(p, p + size);
    return 0;
  }
  // A perf buffer sample: the CPU (4 bytes, little-endian) then the raw
  // data as the consumer receives it (with the kernel's padding).
  static void OnSample(void* ctx, int cpu, void* data, __u32 size) {
    auto* s = static_cast<Sink*>(ctx);
    Bytes rec(4 + size_t{size});
    const uint32_t c = static_cast<uint32_t>(cpu);
    std::memcpy(rec.data(), &c, 4);
    if (size != 0) std::memcpy(rec.data() + 4, data, size);
    s->self->records_[s->map].push_back(std::move(rec));
  }
  // Lost samples: the CPU with the top bit set, then the 8-byte count.
  static void OnLost(void* ctx, int cpu, __u64 cnt) {
    auto* s = static_cast<Sink*>(ctx);
    Bytes rec(12);
    const uint32_t c = static_cast<uint32_t>(cpu) | 0x80000000u;
    std::memcpy(rec.data(), &c, 4);
    std::memcpy(rec.data() + 4, &cnt, 8);
    s->self->records_[s->map].push_back(std::move(rec));
  }
  // Pages per CPU of each compared perf buffer (libbpf's page_cnt).
  static constexpr size_t kPerfPages = 8;
  std::vector<std::unique_ptr<Sink>> sinks_;
  std::map<std::string, std::vector<Bytes>> records_;
};

// The kernel side: what a libbpf user does (tools/lib/bpf/libbpf.c
// bpf_object__load, bpf.c bpf_prog_test_run_opts, ringbuf.c
// ring_buffer__consume) against net/bpf/test_run.c.
class KernelInstance : public Instance {
 public:
  explicit KernelInstance(int cpu) : cpu_(cpu) {}
  ~KernelInstance() override {
    if (rb_ != nullptr) ring_buffer__free(rb_);
    for (perf_buffer* pb : perf_) perf_buffer__free(pb);
    KernelBackend::Get().PinCpu(-1);
  }
  int Load(const std::string& path,
           const std::vector<native::Object::MapDesc>& maps) {
    if (int err = KernelObject::Load(path, &obj_); err != 0) return err;
    for (const auto& m : maps) {
      if (m.type != BPF_MAP_TYPE_RINGBUF &&
          m.type != BPF_MAP_TYPE_PERF_EVENT_ARRAY) {
        continue;
      }
      const int fd = obj_->MapFd(m.real_name);
      if (fd < 0) continue;
      sinks_.push_back(std::make_unique<Sink>(Sink{this, m.real_name}));
      if (m.type == BPF_MAP_TYPE_PERF_EVENT_ARRAY) {
        perf_buffer* pb = perf_buffer__new(fd, kPerfPages, &OnSample, &OnLost,
                                           sinks_.back().get(), nullptr);
        if (pb == nullptr) return -errno;
        perf_.push_back(pb);
        continue;
      }
      if (rb_ == nullptr) {
        rb_ = ring_buffer__new(fd, &OnRecord, sinks_.back().get(), nullptr);
        if (rb_ == nullptr) return -errno;
      } else if (int err =
                     ring_buffer__add(rb_, fd, &OnRecord, sinks_.back().get());
                 err != 0) {
        return err;
      }
    }
    return 0;
  }
  RunOut Run(const std::string& prog, uint32_t type, const Bytes& in,
             int repeat) override {
    RunOut out;
    const int fd = obj_->ProgFd(prog);
    if (IsPacketProgram(type)) {
      KernelObject::Result r = KernelObject::RunPacket(fd, in, repeat);
      out.err = r.err;
      out.retval = r.retval;
      out.data_out = std::move(r.data_out);
      return out;
    }
    for (int i = 0; i < repeat; ++i) {
      LIBBPF_OPTS(bpf_test_run_opts, opts,
                  .ctx_in = in.empty() ? nullptr : in.data(),
                  .ctx_size_in = static_cast<uint32_t>(in.size()));
      out.err = bpf_prog_test_run_opts(fd, &opts);
      out.retval = opts.retval;
      if (out.err != 0) break;
    }
    return out;
  }
  int MapFd(const std::string& name) override { return obj_->MapFd(name); }
  int GetNextKey(int fd, const void* key, void* next) override {
    return bpf_map_get_next_key(fd, key, next);
  }
  int Lookup(int fd, const void* key, void* value) override {
    return bpf_map_lookup_elem(fd, key, value);
  }
  int Pop(int fd, void* value) override {
    return bpf_map_lookup_and_delete_elem(fd, nullptr, value);
  }
  int Push(int fd, const void* value) override {
    return bpf_map_update_elem(fd, nullptr, value, 0);
  }
  // The kernel side's lookups are syscalls: one batch instead of n
  // (generic_map_lookup_batch, kernel/bpf/syscall.c).
  bool LookupArray(int fd, uint32_t n, size_t value_size,
                   Bytes* values) override {
    std::vector<uint32_t> keys(n);
    values->assign(size_t{n} * value_size, 0);
    uint32_t out_batch = 0, count = n;
    const int err = bpf_map_lookup_batch(fd, nullptr, &out_batch, keys.data(),
                                         values->data(), &count, nullptr);
    if ((err != 0 && err != -ENOENT) || count != n) return false;
    for (uint32_t i = 0; i < n; ++i) {
      if (keys[i] != i) return false;
    }
    return true;
  }
  void Enter() override { KernelBackend::Get().PinCpu(cpu_); }
  void Consume() override {
    if (rb_ != nullptr) ring_buffer__consume(rb_);
    for (perf_buffer* pb : perf_) perf_buffer__consume(pb);
  }

 private:
  int cpu_;
  std::unique_ptr<KernelObject> obj_;
  ring_buffer* rb_ = nullptr;
  std::vector<perf_buffer*> perf_;
};

// The emulator side: the same object in the interpreter, run with the
// contexts of net/bpf/test_run.c (loader/test_run.h) and, for raw
// tracepoints, bpf_prog_test_run_raw_tp's size checks.
class EmuInstance : public Instance {
 public:
  EmuInstance(KernelVersion v, int cpu) : version_(v), cpu_(cpu) {}
  ~EmuInstance() override { SetThreadCpu(-1); }
  int Load(const std::string& path, std::string* why) {
    Enter();
    auto obj = native::Object::OpenBytecode(path);
    if (!obj.ok()) {
      *why = std::string(obj.status().message());
      return -EINVAL;
    }
    obj_ = std::move(*obj);
    if (int err = obj_->Load(); err != 0) return err;
    for (const auto& m : obj_->MapDescs()) {
      if (m.type == BPF_MAP_TYPE_PERF_EVENT_ARRAY) {
        sinks_.push_back(std::make_unique<Sink>(Sink{this, m.real_name}));
        const struct perf_event_attr attr = PerfBuffer::DefaultAttr();
        PerfBuffer::Params params;
        params.attr = &attr;
        params.sample_cb = &OnSample;
        params.lost_cb = &OnLost;
        params.ctx = sinks_.back().get();
        int err = 0;
        auto pb =
            PerfBuffer::New(obj_->MapFd(m.real_name), kPerfPages, params, &err);
        if (pb == nullptr) return err;
        perf_.push_back(std::move(pb));
        continue;
      }
      if (m.type != BPF_MAP_TYPE_RINGBUF) continue;
      sinks_.push_back(std::make_unique<Sink>(Sink{this, m.real_name}));
      int err = 0;
      auto rb = RingBuffer::New(obj_->MapFd(m.real_name), &OnRecord,
                                sinks_.back().get(), &err);
      if (rb == nullptr) return err;
      rings_.push_back(std::move(rb));
    }
    return 0;
  }
  native::Object& object() { return *obj_; }
  RunOut Run(const std::string& prog, uint32_t type, const Bytes& in,
             int repeat) override {
    RunOut out;
    const native::Program* p = obj_->FindProgram(prog);
    for (int i = 0; i < repeat; ++i) {
      if (IsPacketProgram(type)) {
        native::PacketResult r =
            type == BPF_PROG_TYPE_XDP ? p->RunXdp(in) : p->RunSkb(in);
        out.err = r.err;
        out.retval = r.retval;
        out.data_out = std::move(r.data_out);
      } else {
        // bpf_prog_test_run_raw_tp: no more than MAX_BPF_FUNC_ARGS u64s,
        // and no less than the verifier's max_ctx_offset.
        if (in.size() > kMaxCtx || in.size() < p->max_ctx_offset()) {
          out.err = -EINVAL;
          break;
        }
        std::vector<uint64_t> args((in.size() + 7) / 8);
        if (!in.empty()) std::memcpy(args.data(), in.data(), in.size());
        out.retval = p->RunRawTp(args);
      }
      // A run the interpreter stopped (a check the verifier would have
      // made at load): the kernel never runs such a program, so say so.
      if (ProgFaulted()) {
        out.fault = interp::LastFault();
        break;
      }
      if (out.err != 0) break;
    }
    return out;
  }
  int MapFd(const std::string& name) override { return obj_->MapFd(name); }
  int GetNextKey(int fd, const void* key, void* next) override {
    return MapGetNextKey(fd, key, next);
  }
  int Lookup(int fd, const void* key, void* value) override {
    return MapLookupElem(fd, key, value);
  }
  int Pop(int fd, void* value) override {
    return MapLookupAndDeleteElem(fd, nullptr, value);
  }
  int Push(int fd, const void* value) override {
    return MapUpdateElem(fd, nullptr, value, 0);
  }
  void Enter() override {
    SetTargetKernel(version_);
    SetThreadCpu(cpu_);
  }
  void Consume() override {
    for (auto& r : rings_) r->Consume();
    for (auto& pb : perf_) pb->Consume();
  }

 private:
  KernelVersion version_;
  int cpu_;
  std::unique_ptr<native::Object> obj_;
  std::vector<std::unique_ptr<RingBuffer>> rings_;
  std::vector<std::unique_ptr<PerfBuffer>> perf_;
};

// One map's contents as compared: (key, value) pairs in walk order (sorted
// for sets), or the drained values of a queue/stack with empty keys.
struct Dump {
  int err = 0;  // a failed walk
  std::vector<std::pair<Bytes, Bytes>> entries;
};

Dump DumpMap(Instance& in, const native::Object::MapDesc& d,
             size_t value_size) {
  Dump out;
  const int fd = in.MapFd(d.real_name);
  if (fd < 0) {
    out.err = fd;
    return out;
  }
  const Walk walk = WalkOf(d.type);
  if (walk == Walk::kDrain) {
    Bytes v(d.value_size);
    while (out.entries.size() <= d.max_entries && in.Pop(fd, v.data()) == 0) {
      out.entries.emplace_back(Bytes{}, v);
    }
    // Put them back: a queue in the order popped, a stack reversed.
    if (d.type == BPF_MAP_TYPE_QUEUE) {
      for (const auto& e : out.entries) in.Push(fd, e.second.data());
    } else {
      for (auto it = out.entries.rbegin(); it != out.entries.rend(); ++it) {
        in.Push(fd, it->second.data());
      }
    }
    return out;
  }
  Bytes key(d.key_size), next(d.key_size), value(value_size);
  // Arrays hold every index: look them up without walking (half the calls).
  if ((d.type == BPF_MAP_TYPE_ARRAY || d.type == BPF_MAP_TYPE_PERCPU_ARRAY) &&
      d.key_size == sizeof(uint32_t)) {
    Bytes all;
    if (d.max_entries > 0 &&
        in.LookupArray(fd, d.max_entries, value_size, &all)) {
      for (uint32_t i = 0; i < d.max_entries; ++i) {
        std::memcpy(key.data(), &i, sizeof(i));
        out.entries.emplace_back(
            key, Bytes(all.begin() + static_cast<long>(i * value_size),
                       all.begin() + static_cast<long>((i + 1) * value_size)));
      }
      return out;
    }
    for (uint32_t i = 0; i < d.max_entries; ++i) {
      std::memcpy(key.data(), &i, sizeof(i));
      std::fill(value.begin(), value.end(), 0);
      if (int err = in.Lookup(fd, key.data(), value.data()); err == 0) {
        out.entries.emplace_back(key, value);
      } else if (err != -ENOENT) {
        out.entries.emplace_back(key, Bytes{});  // the lookup failed
      }
    }
    return out;
  }
  const void* prev = nullptr;
  // A walk longer than the map (a restart after a concurrent delete) stops.
  for (size_t n = 0; n <= size_t{d.max_entries} + 1; ++n) {
    const int err = in.GetNextKey(fd, prev, next.data());
    if (err != 0) {
      if (err != -ENOENT) out.err = err;
      break;
    }
    key = next;
    prev = key.data();
    if (walk == Walk::kKeysOnly) {
      out.entries.emplace_back(key, Bytes{});
      continue;
    }
    std::fill(value.begin(), value.end(), 0);
    if (in.Lookup(fd, key.data(), value.data()) == 0) {
      out.entries.emplace_back(key, value);
    }
  }
  if (walk != Walk::kOrdered) std::sort(out.entries.begin(), out.entries.end());
  return out;
}

// The first difference between two dumps of one map, or nullopt.
std::optional<Difference> CompareDumps(const Dump& a, const Dump& b,
                                       const std::string& map) {
  Difference d;
  d.what = "map";
  d.map = map;
  if (a.err != b.err) {
    d.a_value = absl::StrFormat("walk error %d", a.err);
    d.b_value = absl::StrFormat("walk error %d", b.err);
    return d;
  }
  const size_t n = std::max(a.entries.size(), b.entries.size());
  for (size_t i = 0; i < n; ++i) {
    const auto* ea = i < a.entries.size() ? &a.entries[i] : nullptr;
    const auto* eb = i < b.entries.size() ? &b.entries[i] : nullptr;
    if (ea != nullptr && eb != nullptr && *ea == *eb) continue;
    // Report by key: the smaller key is the one the other side lacks.
    if (ea != nullptr && eb != nullptr && ea->first == eb->first) {
      d.key = ea->first.empty() ? absl::StrFormat("#%zu", i) : Hex(ea->first);
      d.a_value = Hex(ea->second);
      d.b_value = Hex(eb->second);
      return d;
    }
    const bool a_first =
        eb == nullptr || (ea != nullptr && ea->first < eb->first);
    const auto* e = a_first ? ea : eb;
    d.key = Hex(e->first);
    d.a_value = a_first ? Hex(e->second) : "(missing)";
    d.b_value = a_first ? "(missing)" : Hex(e->second);
    if (e->second.empty()) {
      d.a_value = a_first ? "(present)" : "(missing)";
      d.b_value = a_first ? "(missing)" : "(present)";
    }
    return d;
  }
  return std::nullopt;
}

struct Prog {
  std::string name;
  uint32_t type;
};

// One pass over `inputs` on fresh instances of every side.
struct Pass {
  std::string error;
  size_t inputs_run = 0;
  uint64_t runs = 0;
  uint64_t records = 0;
  std::vector<std::string> compared, skipped;
  std::optional<Difference> first;
};

Pass RunPass(const Options& o, const std::vector<Input>& inputs,
             bool report_progress) {
  Pass pass;
  const KernelVersion saved = TargetKernel();
  std::vector<std::unique_ptr<Instance>> sides;
  EmuInstance* ref = nullptr;  // the map and program descriptions
  for (const Side& s : o.sides) {
    if (s.kernel) continue;
    auto e = std::make_unique<EmuInstance>(s.version, o.cpu);
    std::string why;
    if (int err = e->Load(o.object, &why); err != 0) {
      pass.error =
          absl::StrFormat("%s: cannot load %s on the emulator: %s", s.Name(),
                          o.object, why.empty() ? std::strerror(-err) : why);
      SetTargetKernel(saved);
      return pass;
    }
    if (ref == nullptr) ref = e.get();
    sides.push_back(std::move(e));
  }
  if (ref == nullptr) {
    pass.error = "at least one side must be the emulator";
    return pass;
  }
  const std::vector<native::Object::MapDesc> maps = ref->object().MapDescs();
  // Kernel sides, in their place in o.sides.
  for (size_t i = 0, e = 0; i < o.sides.size(); ++i) {
    if (!o.sides[i].kernel) {
      ++e;
      continue;
    }
    auto k = std::make_unique<KernelInstance>(o.cpu);
    if (int err = k->Load(o.object, maps); err != 0) {
      pass.error = absl::StrFormat("kernel: cannot load %s: %s", o.object,
                                   std::strerror(-err));
      SetTargetKernel(saved);
      return pass;
    }
    sides.insert(sides.begin() + static_cast<long>(i), std::move(k));
  }
  std::vector<Prog> progs;
  if (o.programs.empty()) {
    for (const auto& p : ref->object().programs()) {
      progs.push_back({p.name(), p.type()});
    }
  } else {
    for (const std::string& name : o.programs) {
      const native::Program* p = ref->object().FindProgram(name);
      if (p == nullptr) {
        pass.error = absl::StrFormat("no program %s in %s", name, o.object);
        SetTargetKernel(saved);
        return pass;
      }
      progs.push_back({name, p->type()});
    }
  }
  for (const Prog& p : progs) {
    if (!IsPacketProgram(p.type) && !IsCtxProgram(p.type)) {
      pass.error = absl::StrFormat(
          "program %s: type %u has no BPF_PROG_TEST_RUN context here "
          "(packet: XDP, tc, socket filter; ctx: raw_tp, tracing)",
          p.name, p.type);
      SetTargetKernel(saved);
      return pass;
    }
  }
  std::vector<size_t> value_sizes;
  for (const auto& m : maps) {
    const Walk w = WalkOf(m.type);
    const bool created = ref->MapFd(m.real_name) >= 0;
    const bool ignored = std::find(o.ignore_maps.begin(), o.ignore_maps.end(),
                                   m.real_name) != o.ignore_maps.end();
    (w == Walk::kSkip || !created || ignored ? pass.skipped : pass.compared)
        .push_back(m.real_name);
    auto map = ref->object().FindMap(m.real_name);
    value_sizes.push_back(map ? map->SyscallValueSize() : m.value_size);
  }

  for (size_t i = 0; i < inputs.size() && !pass.first; ++i) {
    for (const Prog& p : progs) {
      std::vector<RunOut> outs;
      for (auto& s : sides) {
        s->Enter();
        outs.push_back(s->Run(p.name, p.type, inputs[i].data, o.repeat));
      }
      pass.runs += o.repeat;
      for (size_t s = 1; s < sides.size() && !pass.first; ++s) {
        Difference d;
        d.input_index = i;
        d.program = p.name;
        // A fault on either side differs from the kernel, whose verifier
        // refuses such a program at load; reported even when both emulator
        // sides fault alike.
        if (!outs[0].fault.empty() || !outs[s].fault.empty()) {
          d.what = "fault";
          d.a_value = outs[0].fault.empty() ? "(ran)" : outs[0].fault;
          d.b_value = outs[s].fault.empty() ? "(ran)" : outs[s].fault;
        } else if (outs[0].err != outs[s].err) {
          d.what = "err";
          d.a_value = std::to_string(outs[0].err);
          d.b_value = std::to_string(outs[s].err);
        } else if (outs[0].retval != outs[s].retval) {
          d.what = "retval";
          d.a_value = std::to_string(outs[0].retval);
          d.b_value = std::to_string(outs[s].retval);
        } else if (outs[0].data_out != outs[s].data_out) {
          d.what = "data_out";
          d.a_value = Hex(outs[0].data_out);
          d.b_value = Hex(outs[s].data_out);
        } else {
          continue;
        }
        pass.first = d;
      }
      if (pass.first) break;
      // Maps and rings after this program's run.
      if (o.plant && !inputs[i].data.empty() &&
          inputs[i].data[0] == o.plant->marker && o.plant->side_index >= 0 &&
          o.plant->side_index < static_cast<int>(sides.size()) &&
          !o.sides[o.plant->side_index].kernel) {
        const int fd = sides[o.plant->side_index]->MapFd(o.plant->map);
        if (fd >= 0) InjectFaults(fd, kFaultLookup, 1, -ENOMEM);
      }
      const bool check = (i + 1) % static_cast<size_t>(o.check_every) == 0 ||
                         i + 1 == inputs.size();
      for (size_t m = 0; check && m < maps.size() && !pass.first; ++m) {
        const Walk w = WalkOf(maps[m].type);
        if (w == Walk::kSkip || ref->MapFd(maps[m].real_name) < 0 ||
            std::find(pass.skipped.begin(), pass.skipped.end(),
                      maps[m].real_name) != pass.skipped.end()) {
          continue;
        }
        if (w == Walk::kRing) {
          std::vector<std::vector<Bytes>> recs;
          for (auto& s : sides) {
            s->Enter();
            recs.push_back(s->TakeRecords(maps[m].real_name));
          }
          pass.records += recs[0].size();
          for (size_t s = 1; s < sides.size() && !pass.first; ++s) {
            if (recs[0] == recs[s]) continue;
            Difference d;
            d.input_index = i;
            d.program = p.name;
            d.what = maps[m].type == BPF_MAP_TYPE_RINGBUF ? "ringbuf"
                                                          : "perf buffer";
            d.map = maps[m].real_name;
            const size_t n = std::max(recs[0].size(), recs[s].size());
            for (size_t r = 0; r < n; ++r) {
              const bool ha = r < recs[0].size(), hb = r < recs[s].size();
              if (ha && hb && recs[0][r] == recs[s][r]) continue;
              d.key = absl::StrFormat("record %zu", r);
              d.a_value = ha ? Hex(recs[0][r]) : "(missing)";
              d.b_value = hb ? Hex(recs[s][r]) : "(missing)";
              break;
            }
            pass.first = d;
          }
          continue;
        }
        std::vector<Dump> dumps;
        for (auto& s : sides) {
          s->Enter();
          dumps.push_back(DumpMap(*s, maps[m], value_sizes[m]));
        }
        for (size_t s = 1; s < sides.size() && !pass.first; ++s) {
          if (auto d = CompareDumps(dumps[0], dumps[s], maps[m].real_name)) {
            d->input_index = i;
            d->program = p.name;
            pass.first = d;
          }
        }
      }
      if (pass.first) break;
    }
    pass.inputs_run = i + 1;
    if (report_progress && o.progress) o.progress(i + 1, inputs.size());
  }
  sides.clear();
  SetTargetKernel(saved);
  return pass;
}

// Delta debugging (Zeller's ddmin) over input indexes: a minimal list on
// which `fails` still holds, within `budget` probes and `seconds`.
// *complete is false when a budget ran out first (the list may not be
// minimal then).
std::vector<size_t> Shrink(
    std::vector<size_t> cur,
    const std::function<bool(const std::vector<size_t>&)>& fails, int budget,
    double seconds, bool* complete) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  auto spent = [&]() {
    return budget <= 0 || std::chrono::steady_clock::now() > deadline;
  };
  *complete = false;
  size_t n = 2;
  while (cur.size() >= 2) {
    const size_t chunk = (cur.size() + n - 1) / n;
    bool reduced = false;
    for (size_t start = 0; start < cur.size(); start += chunk) {
      if (spent()) return cur;
      std::vector<size_t> without;
      for (size_t j = 0; j < cur.size(); ++j) {
        if (j < start || j >= start + chunk) without.push_back(cur[j]);
      }
      --budget;
      if (!without.empty() && fails(without)) {
        cur = std::move(without);
        n = std::max<size_t>(n - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (n >= cur.size()) break;
      n = std::min(n * 2, cur.size());
    }
  }
  *complete = true;
  return cur;
}

std::string JsonString(const std::string& s) {
  std::string o = "\"";
  for (const unsigned char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      absl::StrAppendFormat(&o, "\\u%04x", c);
    } else {
      o += static_cast<char>(c);
    }
  }
  return o + "\"";
}

uint32_t Swap32(uint32_t v) { return __builtin_bswap32(v); }

}  // namespace

std::string Side::Name() const {
  return kernel ? "kernel" : std::string("emu-") + KernelVersionName(version);
}

std::string Difference::Describe(const std::vector<Side>& sides) const {
  const std::string a = sides.empty() ? "a" : sides[0].Name();
  const std::string b = sides.size() < 2 ? "b" : sides[1].Name();
  std::string s =
      absl::StrFormat("input %zu, program %s: ", input_index, program);
  if (what == "map") {
    absl::StrAppendFormat(&s, "map %s differs at key [%s]\n", map, key);
  } else if (what == "ringbuf" || what == "perf buffer") {
    absl::StrAppendFormat(&s, "%s %s differs at %s\n",
                          what == "ringbuf" ? "ring buffer" : "perf buffer",
                          map, key);
  } else {
    absl::StrAppendFormat(&s, "%s differs\n", what);
  }
  absl::StrAppendFormat(&s, "  %-10s %s\n  %-10s %s", a + ":", a_value, b + ":",
                        b_value);
  return s;
}

std::string Result::Report(const Options& o) const {
  if (!error.empty()) return "error: " + error;
  std::string s;
  for (size_t i = 0; i < o.sides.size(); ++i) {
    absl::StrAppend(&s, i == 0 ? "" : " vs ", o.sides[i].Name());
  }
  absl::StrAppendFormat(&s, ": %zu inputs, %llu runs per side, %.2f s\n",
                        inputs_run, static_cast<unsigned long long>(runs),
                        seconds);
  absl::StrAppendFormat(&s, "maps compared: %s\n",
                        compared_maps.empty()
                            ? std::string("(none)")
                            : absl::StrJoin(compared_maps, ", "));
  if (!skipped_maps.empty()) {
    absl::StrAppendFormat(&s, "maps not compared: %s\n",
                          absl::StrJoin(skipped_maps, ", "));
  }
  if (!first) return s + "identical\n";
  absl::StrAppend(&s, "DIFFERENCE ", first->Describe(o.sides), "\n");
  if (!shrunk.empty()) {
    std::vector<std::string> idx;
    for (size_t i : shrunk) idx.push_back(std::to_string(i));
    absl::StrAppendFormat(
        &s, "shrunk to %zu input(s)%s: %s\n", shrunk.size(),
        shrink_complete ? "" : " (time budget spent, may not be minimal)",
        absl::StrJoin(idx, " "));
  }
  if (!replay_file.empty()) {
    absl::StrAppendFormat(&s, "replay: bpfemu compare --replay %s\n",
                          replay_file);
  }
  return s;
}

std::string Result::Json(const Options& o) const {
  std::vector<std::string> sides, cmp, skip, idx;
  for (const Side& x : o.sides) sides.push_back(JsonString(x.Name()));
  for (const auto& m : compared_maps) cmp.push_back(JsonString(m));
  for (const auto& m : skipped_maps) skip.push_back(JsonString(m));
  for (size_t i : shrunk) idx.push_back(std::to_string(i));
  std::string diff = "null";
  if (first) {
    diff = absl::StrFormat(
        "{\"input\":%zu,\"program\":%s,\"what\":%s,\"map\":%s,\"key\":%s,"
        "\"a\":%s,\"b\":%s}",
        first->input_index, JsonString(first->program), JsonString(first->what),
        JsonString(first->map), JsonString(first->key),
        JsonString(first->a_value), JsonString(first->b_value));
  }
  return absl::StrFormat(
      "{\"object\":%s,\"sides\":[%s],\"error\":%s,\"inputs\":%zu,\"runs\":%llu,"
      "\"seconds\":%.3f,\"identical\":%s,\"maps_compared\":[%s],"
      "\"maps_skipped\":[%s],\"difference\":%s,\"shrunk\":[%s],"
      "\"shrink_complete\":%s,\"replay\":%s}",
      JsonString(o.object), absl::StrJoin(sides, ","), JsonString(error),
      inputs_run, static_cast<unsigned long long>(runs), seconds,
      identical() ? "true" : "false", absl::StrJoin(cmp, ","),
      absl::StrJoin(skip, ","), diff, absl::StrJoin(idx, ","),
      shrink_complete ? "true" : "false", JsonString(replay_file));
}

std::string Unavailable(const Options& o) {
  for (const Side& s : o.sides) {
    if (s.kernel) return KernelBackend::Get().Unavailable();
  }
  return "";
}

Result Run(const Options& o, const std::vector<Input>& inputs) {
  Result r;
  if (o.repeat < 1 || o.check_every < 1) {
    r.error = "repeat and check_every must be at least 1";
    return r;
  }
  if (o.sides.size() != 2) {
    r.error = "two sides are compared";
    return r;
  }
  if (o.sides[0].kernel && o.sides[1].kernel) {
    r.error = "at most one side can be the kernel";
    return r;
  }
  if (std::string why = Unavailable(o); !why.empty()) {
    r.error = "kernel side unavailable: " + why;
    return r;
  }
  const auto start = std::chrono::steady_clock::now();
  Pass pass = RunPass(o, inputs, /*report_progress=*/true);
  r.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  r.error = pass.error;
  r.inputs_run = pass.inputs_run;
  r.runs = pass.runs;
  r.records = pass.records;
  r.compared_maps = pass.compared;
  r.skipped_maps = pass.skipped;
  r.first = pass.first;
  if (!r.first || !r.error.empty()) return r;

  std::vector<size_t> all;
  for (size_t i = 0; i <= r.first->input_index; ++i) all.push_back(i);
  std::vector<size_t> keep = all;
  if (o.shrink) {
    // Only the inputs up to the first difference can matter.
    keep = Shrink(
        all,
        [&](const std::vector<size_t>& idx) {
          std::vector<Input> sub;
          for (size_t i : idx) sub.push_back(inputs[i]);
          Pass p = RunPass(o, sub, false);
          return p.error.empty() && p.first.has_value();
        },
        /*budget=*/1000, o.shrink_seconds, &r.shrink_complete);
  }
  if (o.shrink) r.shrunk = keep;
  if (!o.replay_path.empty()) {
    std::vector<Input> sub;
    for (size_t i : keep) sub.push_back(inputs[i]);
    std::string err;
    if (WriteReplay(o.replay_path, o, sub, &err)) {
      r.replay_file = o.replay_path;
    } else {
      r.error = err;
    }
  }
  return r;
}

// Replay file, line-based text:
//   bpfemu-compare-replay 1
//   object PATH
//   side kernel | side emu 6.1
//   program NAME          (any number)
//   repeat N
//   cpu N
//   check_every N, ignore MAP (when set)
//   plant SIDE MAP MARKER (test-only switch)
//   input HEX [ORIGIN]    (one per input, in order)
bool WriteReplay(const std::string& path, const Options& o,
                 const std::vector<Input>& inputs, std::string* error) {
  std::ofstream f(path, std::ios::trunc);
  if (!f) {
    *error = "cannot write " + path;
    return false;
  }
  f << "bpfemu-compare-replay 1\nobject " << o.object << "\n";
  for (const Side& s : o.sides) {
    f << "side " << (s.kernel ? "kernel" : "emu ")
      << (s.kernel ? "" : KernelVersionName(s.version)) << "\n";
  }
  for (const auto& p : o.programs) f << "program " << p << "\n";
  f << "repeat " << o.repeat << "\ncpu " << o.cpu << "\n";
  if (o.check_every != 1) f << "check_every " << o.check_every << "\n";
  for (const auto& m : o.ignore_maps) f << "ignore " << m << "\n";
  if (o.plant) {
    f << "plant " << o.plant->side_index << " " << o.plant->map << " "
      << static_cast<int>(o.plant->marker) << "\n";
  }
  for (const Input& in : inputs) {
    std::string hex;
    for (uint8_t b : in.data) absl::StrAppendFormat(&hex, "%02x", b);
    f << "input " << (hex.empty() ? "-" : hex);
    if (!in.origin.empty()) f << " " << in.origin;
    f << "\n";
  }
  f.close();
  if (!f) {
    *error = "cannot write " + path;
    return false;
  }
  return true;
}

bool ReadReplay(const std::string& path, Options* o, std::vector<Input>* inputs,
                std::string* error) {
  std::ifstream f(path);
  if (!f) {
    *error = "cannot read " + path;
    return false;
  }
  std::string line;
  if (!std::getline(f, line) || line != "bpfemu-compare-replay 1") {
    *error = path + ": not a bpfemu compare replay file";
    return false;
  }
  Options n;
  n.sides.clear();
  n.shrink = false;
  inputs->clear();
  int lineno = 1;
  while (std::getline(f, line)) {
    ++lineno;
    std::istringstream ls(line);
    std::string word;
    ls >> word;
    auto bad = [&]() {
      *error = absl::StrFormat("%s:%d: cannot parse \"%s\"", path, lineno,
                               line.substr(0, 80));
      return false;
    };
    if (word.empty() || word[0] == '#') continue;
    if (word == "object") {
      std::getline(ls >> std::ws, n.object);
    } else if (word == "side") {
      std::string kind, ver;
      ls >> kind;
      if (kind == "kernel") {
        n.sides.push_back(Side::Kernel());
      } else if (kind == "emu" && (ls >> ver)) {
        auto v = ParseKernelVersion(ver);
        if (!v) return bad();
        n.sides.push_back(Side::Emulator(*v));
      } else {
        return bad();
      }
    } else if (word == "program") {
      std::string p;
      if (!(ls >> p)) return bad();
      n.programs.push_back(p);
    } else if (word == "repeat") {
      if (!(ls >> n.repeat) || n.repeat < 1 || n.repeat > 1000000) {
        return bad();
      }
    } else if (word == "check_every") {
      if (!(ls >> n.check_every) || n.check_every < 1) return bad();
    } else if (word == "ignore") {
      std::string m;
      if (!(ls >> m)) return bad();
      n.ignore_maps.push_back(m);
    } else if (word == "cpu") {
      if (!(ls >> n.cpu) || n.cpu < 0 || n.cpu >= NumPossibleCpus()) {
        return bad();
      }
    } else if (word == "plant") {
      PlantedFault p;
      int marker = 0;
      if (!(ls >> p.side_index >> p.map >> marker) || p.side_index < 0 ||
          p.side_index > 1 || marker < 0 || marker > 255) {
        return bad();
      }
      p.marker = static_cast<uint8_t>(marker);
      n.plant = p;
    } else if (word == "input") {
      std::string hex;
      Input in;
      if (!(ls >> hex)) return bad();
      if (hex != "-") {
        if (hex.size() % 2 != 0) return bad();
        for (size_t i = 0; i < hex.size(); i += 2) {
          unsigned v = 0;
          if (std::sscanf(hex.c_str() + i, "%2x", &v) != 1 ||
              !std::isxdigit(static_cast<unsigned char>(hex[i])) ||
              !std::isxdigit(static_cast<unsigned char>(hex[i + 1]))) {
            return bad();
          }
          in.data.push_back(static_cast<uint8_t>(v));
        }
      }
      std::getline(ls >> std::ws, in.origin);
      inputs->push_back(std::move(in));
    } else {
      return bad();
    }
  }
  if (n.object.empty() || n.sides.size() != 2) {
    *error = path + ": needs an object and two sides";
    return false;
  }
  *o = std::move(n);
  return true;
}

bool ReadInputFile(const std::string& path, std::vector<Input>* out,
                   std::string* error) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    *error = "cannot read " + path;
    return false;
  }
  const Bytes all((std::istreambuf_iterator<char>(f)),
                  std::istreambuf_iterator<char>());
  uint32_t magic = 0;
  if (all.size() >= 24) std::memcpy(&magic, all.data(), 4);
  // Classic pcap: a 24-byte file header, then per packet a 16-byte record
  // header (ts_sec, ts_frac, incl_len, orig_len) and incl_len bytes.
  const bool native = magic == 0xa1b2c3d4 || magic == 0xa1b23c4d;
  const bool swapped = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
  if (!native && !swapped) {
    out->push_back(Input{all, path});
    return true;
  }
  uint32_t linktype = 0;
  std::memcpy(&linktype, all.data() + 20, 4);
  if (swapped) linktype = Swap32(linktype);
  if ((linktype & 0x0fffffff) != 1) {  // LINKTYPE_ETHERNET
    *error = absl::StrFormat("%s: pcap link type %u, not Ethernet (1)", path,
                             linktype);
    return false;
  }
  size_t off = 24, n = 0;
  while (off < all.size()) {
    if (all.size() - off < 16) {
      *error =
          absl::StrFormat("%s: truncated record header at byte %zu", path, off);
      return false;
    }
    uint32_t incl = 0;
    std::memcpy(&incl, all.data() + off + 8, 4);
    if (swapped) incl = Swap32(incl);
    off += 16;
    if (incl > all.size() - off || incl > 262144) {
      *error = absl::StrFormat("%s: packet %zu claims %u bytes, %zu left", path,
                               n, incl, all.size() - off);
      return false;
    }
    out->push_back(Input{Bytes(all.begin() + off, all.begin() + off + incl),
                         absl::StrFormat("%s#%zu", path, n)});
    off += incl;
    ++n;
  }
  return true;
}

}  // namespace bpfemu::compare
