// SPDX-License-Identifier: Apache-2.0
#include "loader/object.h"

#include <linux/if_ether.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "bpfemu/native_abi.h"
#include "emu/array_map.h"
#include "emu/local_mutex.h"
#include "emu/prog.h"
#include "emu/syscall.h"
#include "native/bound_map.h"
#include "loader/bytecode.h"
#include "loader/elf_object.h"

namespace bpfemu::native {
namespace {

// Every native object linked into the binary (filled by constructors), and
// which of them are loaded.
struct Registry {
  LocalMutex mu;
  absl::flat_hash_map<std::string, const bpfemu_object_def*> objects
      ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<const bpfemu_object_def*, bool> loaded
      ABSL_GUARDED_BY(mu);

  static Registry& Get() {
    static auto* r = new Registry;
    return *r;
  }
};

// "dir/counter.bpf.o" -> "counter"; a plain name stays as it is.
std::string StemOf(std::string_view path) {
  if (auto slash = path.rfind('/'); slash != std::string_view::npos) {
    path.remove_prefix(slash + 1);
  }
  for (std::string_view ext : {".bpf.o", ".o"}) {
    if (path.ends_with(ext)) {
      path.remove_suffix(ext.size());
      break;
    }
  }
  return std::string(path);
}

// A per-thread packet buffer mapped below 2 GiB, so the 32-bit data
// pointers of struct xdp_md and struct __sk_buff can address it.
// bpf_prog_test_run_xdp / _skb: one page minus headroom and the
// SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) tailroom.
constexpr size_t kHeadroom = 256;  // XDP_PACKET_HEADROOM
constexpr size_t kSharedInfo = 320;
constexpr size_t kMaxXdpPacket = 4096 - kHeadroom - kSharedInfo;
constexpr size_t kMaxSkbPacket = 4096 - 64 - kSharedInfo;  // NET_SKB_PAD
constexpr size_t kBufferSize = 8192;
// Frames start 2 bytes past the headroom so that the IP header after the
// 14-byte Ethernet header is 4-byte aligned (NET_IP_ALIGN): natively, a
// misaligned `struct iphdr *` is undefined behaviour (UBSan reports it),
// while BPF's own loads do not care.
constexpr size_t kIpAlign = 2;

class LowBuffer {
 public:
  LowBuffer() {
    void* p = mmap(nullptr, kBufferSize, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    base_ = p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
  }
  ~LowBuffer() {
    if (base_ != nullptr) munmap(base_, kBufferSize);
  }
  uint8_t* base() const { return base_; }

 private:
  uint8_t* base_;
};

uint8_t* PacketBuffer() {
  thread_local LowBuffer buffer;
  return buffer.base();
}

uint32_t Low32(const void* p) {
  return static_cast<uint32_t>(reinterpret_cast<uintptr_t>(p));
}

// What a map definition says, from either kind of object.
struct MapSpec {
  const char* name;
  uint32_t type, key_size, value_size, max_entries, map_flags, numa_node;
  int32_t spin_lock_off;
  uint32_t inner_type, inner_key_size, inner_value_size, inner_max_entries;
  uint32_t inner_map_flags;
};

// Creates a map as libbpf's bpf_object__create_maps does: a map-in-map's
// inner template is created, passed as inner_map_fd and closed. A new fd or
// -errno.
int CreateMap(const MapSpec& m) {
  MapAttr attr;
  attr.map_type = m.type;
  attr.key_size = m.key_size;
  attr.value_size = m.value_size;
  attr.max_entries = m.max_entries;
  attr.map_flags = m.map_flags;
  attr.numa_node = m.numa_node;
  attr.spin_lock_off = m.spin_lock_off;
  // libbpf names kernel maps by the first 15 characters of the variable.
  std::strncpy(attr.map_name, m.name, sizeof(attr.map_name) - 1);
  int inner_fd = -1;
  if (m.inner_type != 0) {
    MapAttr inner;
    inner.map_type = m.inner_type;
    inner.key_size = m.inner_key_size;
    inner.value_size = m.inner_value_size;
    inner.max_entries = m.inner_max_entries;
    inner.map_flags = m.inner_map_flags;
    std::strncpy(inner.map_name, m.name, sizeof(inner.map_name) - 1);
    inner_fd = MapCreate(inner);
    if (inner_fd < 0) return inner_fd;
    attr.inner_map_fd = static_cast<uint32_t>(inner_fd);
  }
  const int fd = MapCreate(attr);
  if (inner_fd >= 0) CloseFd(inner_fd);
  return fd;
}

}  // namespace

bool ProgTypeForSection(std::string_view sec, uint32_t* type,
                        uint32_t* attach) {
  struct Def {
    std::string_view prefix;
    uint32_t type, attach;
  };
  static constexpr Def kDefs[] = {
      {"socket", BPF_PROG_TYPE_SOCKET_FILTER, 0},
      {"kprobe", BPF_PROG_TYPE_KPROBE, 0},
      {"kretprobe", BPF_PROG_TYPE_KPROBE, 0},
      {"uprobe", BPF_PROG_TYPE_KPROBE, 0},
      {"uretprobe", BPF_PROG_TYPE_KPROBE, 0},
      {"tc", BPF_PROG_TYPE_SCHED_CLS, 0},
      {"classifier", BPF_PROG_TYPE_SCHED_CLS, 0},
      {"action", BPF_PROG_TYPE_SCHED_ACT, 0},
      {"tracepoint", BPF_PROG_TYPE_TRACEPOINT, 0},
      {"tp", BPF_PROG_TYPE_TRACEPOINT, 0},
      {"raw_tracepoint", BPF_PROG_TYPE_RAW_TRACEPOINT, 0},
      {"raw_tp", BPF_PROG_TYPE_RAW_TRACEPOINT, 0},
      {"tp_btf", BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP},
      {"fentry", BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY},
      {"fexit", BPF_PROG_TYPE_TRACING, BPF_TRACE_FEXIT},
      {"xdp", BPF_PROG_TYPE_XDP, BPF_XDP},
      {"xdp.frags", BPF_PROG_TYPE_XDP, BPF_XDP},
      {"perf_event", BPF_PROG_TYPE_PERF_EVENT, 0},
      {"cgroup_skb/ingress", BPF_PROG_TYPE_CGROUP_SKB,
       BPF_CGROUP_INET_INGRESS},
      {"cgroup_skb/egress", BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_EGRESS},
      {"sk_msg", BPF_PROG_TYPE_SK_MSG, BPF_SK_MSG_VERDICT},
      {"sk_skb/stream_verdict", BPF_PROG_TYPE_SK_SKB,
       BPF_SK_SKB_STREAM_VERDICT},
      {"sk_skb/stream_parser", BPF_PROG_TYPE_SK_SKB,
       BPF_SK_SKB_STREAM_PARSER},
      {"sk_skb", BPF_PROG_TYPE_SK_SKB, 0},
      {"lsm", BPF_PROG_TYPE_LSM, BPF_LSM_MAC},
      {"syscall", BPF_PROG_TYPE_SYSCALL, 0},
  };
  for (const Def& d : kDefs) {
    if (sec == d.prefix || (sec.starts_with(d.prefix) &&
                            sec.size() > d.prefix.size() &&
                            sec[d.prefix.size()] == '/')) {
      *type = d.type;
      *attach = d.attach;
      return true;
    }
  }
  return false;
}

uint32_t Program::Run(void* ctx) const { return ProgRun(*prog_, ctx); }

PacketResult RunXdp(const Prog& prog, absl::Span<const uint8_t> packet) {
  PacketResult r;
  uint8_t* buf = PacketBuffer();
  // Bytes beyond one page's linear area go into page-sized fragments, at
  // most MAX_SKB_FRAGS (17) of them; the program sees the linear part.
  constexpr size_t kMaxFrags = 17;
  if (buf == nullptr || packet.size() < ETH_HLEN) {
    r.err = -EINVAL;
    return r;
  }
  if (packet.size() > kMaxXdpPacket + kMaxFrags * 4096) {
    r.err = -ENOMEM;
    return r;
  }
  const size_t linear = std::min(packet.size(), kMaxXdpPacket);
  uint8_t* data = buf + kHeadroom + kIpAlign;
  std::memcpy(data, packet.data(), linear);
  struct xdp_md md = {};
  md.data = Low32(data);
  md.data_end = Low32(data + linear);
  md.data_meta = md.data;
  md.ingress_ifindex = 1;  // lo
  r.retval = ProgRun(prog, &md);
  const auto* start = reinterpret_cast<const uint8_t*>(uintptr_t{md.data});
  const auto* end = reinterpret_cast<const uint8_t*>(uintptr_t{md.data_end});
  r.data_out.assign(start, end);
  r.data_out.insert(r.data_out.end(), packet.begin() + linear, packet.end());
  return r;
}

PacketResult RunSkb(const Prog& prog, absl::Span<const uint8_t> packet,
                    const struct __sk_buff* ctx_in) {
  PacketResult r;
  uint8_t* buf = PacketBuffer();
  if (buf == nullptr || packet.size() < ETH_HLEN ||
      packet.size() > kMaxSkbPacket) {
    r.err = -EINVAL;
    return r;
  }
  uint16_t proto;
  std::memcpy(&proto, packet.data() + 2 * ETH_ALEN, sizeof(proto));
  const size_t l3 = packet.size() - ETH_HLEN;
  constexpr size_t kIpv4Header = 20, kIpv6Header = 40;
  if ((proto == htons(ETH_P_IP) && l3 < kIpv4Header) ||
      (proto == htons(ETH_P_IPV6) && l3 < kIpv6Header)) {
    r.err = -EINVAL;
    return r;
  }
  uint8_t* data = buf + kHeadroom + kIpAlign;
  std::memcpy(data, packet.data(), packet.size());
  struct __sk_buff skb = {};
  if (ctx_in != nullptr) {
    skb.mark = ctx_in->mark;
    skb.priority = ctx_in->priority;
    std::memcpy(skb.cb, ctx_in->cb, sizeof(skb.cb));
  }
  // eth_type_trans() on lo (address 00:00:00:00:00:00).
  const uint8_t* dest = data;
  static constexpr uint8_t kBroadcast[ETH_ALEN] = {0xff, 0xff, 0xff,
                                                   0xff, 0xff, 0xff};
  static constexpr uint8_t kZero[ETH_ALEN] = {};
  if (dest[0] & 1) {
    skb.pkt_type = std::memcmp(dest, kBroadcast, ETH_ALEN) == 0
                       ? PACKET_BROADCAST
                       : PACKET_MULTICAST;
  } else if (std::memcmp(dest, kZero, ETH_ALEN) != 0) {
    skb.pkt_type = PACKET_OTHERHOST;
  }
  skb.protocol = proto;  // network byte order, as skb->protocol
  skb.ifindex = 1;
  // eth_type_trans() pulled the Ethernet header; only tc-like (L2)
  // programs get it pushed back before they run (is_l2 in test_run.c).
  const bool is_l2 = prog.type == BPF_PROG_TYPE_SCHED_CLS ||
                     prog.type == BPF_PROG_TYPE_SCHED_ACT ||
                     prog.type == BPF_PROG_TYPE_LWT_XMIT;
  const size_t pulled = is_l2 ? 0 : ETH_HLEN;
  skb.len = static_cast<uint32_t>(packet.size() - pulled);
  skb.data = Low32(data + pulled);
  skb.data_end = Low32(data + packet.size());
  r.retval = ProgRun(prog, &skb);
  r.data_out.assign(data, data + packet.size());
  return r;
}

PacketResult Program::RunXdp(absl::Span<const uint8_t> packet) const {
  return native::RunXdp(*prog_, packet);
}

PacketResult Program::RunSkb(absl::Span<const uint8_t> packet,
                             const struct __sk_buff* ctx_in) const {
  return native::RunSkb(*prog_, packet, ctx_in);
}

uint32_t Program::RunRawTp(absl::Span<const uint64_t> args) const {
  // MAX_BPF_FUNC_ARGS slots, as bpf_prog_test_run_raw_tp copies ctx_in.
  std::vector<uint64_t> ctx(std::max<size_t>(args.size(), 12), 0);
  std::copy(args.begin(), args.end(), ctx.begin());
  return Run(ctx.data());
}

Object::Object(const bpfemu_object_def* def) : def_(def), name_(def->name) {}

Object::Object(std::unique_ptr<ElfObject> elf)
    : elf_(std::move(elf)), name_(elf_->name) {}

absl::StatusOr<std::unique_ptr<Object>> Object::OpenBytecodeMem(
    absl::Span<const uint8_t> data, std::string_view name) {
  auto elf = ParseElfObject(data, name);
  if (!elf.ok()) return elf.status();
  return std::unique_ptr<Object>(
      new Object(std::make_unique<ElfObject>(std::move(*elf))));
}

absl::StatusOr<std::unique_ptr<Object>> Object::OpenBytecode(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrFormat("cannot read %s", path));
  const std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  return OpenBytecodeMem(data, ObjectNameFromPath(path));
}

absl::StatusOr<std::unique_ptr<Object>> Object::Open(std::string_view name) {
  const std::string stem = StemOf(name);
  Registry& r = Registry::Get();
  LocalMutexLock l(&r.mu);
  auto it = r.objects.find(stem);
  if (it == r.objects.end()) {
    return absl::NotFoundError(absl::StrFormat(
        "no native BPF object \"%s\" is linked into this binary (add its "
        "bpf_object() target to the deps)",
        stem));
  }
  return std::unique_ptr<Object>(new Object(it->second));
}

std::vector<std::string> Object::Registered() {
  Registry& r = Registry::Get();
  LocalMutexLock l(&r.mu);
  std::vector<std::string> names;
  for (const auto& [name, def] : r.objects) names.push_back(name);
  return names;
}

Object::~Object() { Unload(); }

int Object::Load() {
  if (loaded_) return -EBUSY;
  return elf_ != nullptr ? LoadBytecode() : LoadNative();
}

int Object::LoadNative() {
  {
    Registry& r = Registry::Get();
    LocalMutexLock l(&r.mu);
    if (r.loaded[def_]) return -EBUSY;
    r.loaded[def_] = true;
  }
  loaded_ = true;
  for (unsigned i = 0; i < def_->nmaps; ++i) {
    const bpfemu_map_def& m = def_->maps[i];
    const int fd = CreateMap({m.name, m.type, m.key_size, m.value_size,
                              m.max_entries, m.map_flags, m.numa_node,
                              m.spin_lock_off, m.inner_type, m.inner_key_size,
                              m.inner_value_size, m.inner_max_entries,
                              m.inner_map_flags});
    if (fd < 0) {
      Unload();
      return fd;
    }
    auto b = internal::MakeBound(m.name, fd, MapFromFd(fd));
    internal::Bind(m.def, b.get());
    maps_.push_back(std::move(b));
  }
  for (unsigned i = 0; i < def_->nprogs; ++i) {
    const bpfemu_prog_def& p = def_->progs[i];
    uint32_t type = 0, attach_type = 0;
    ProgTypeForSection(p.section, &type, &attach_type);
    const int fd = ProgCreate(type, attach_type, p.name, p.func);
    if (fd < 0) {
      Unload();
      return fd;
    }
    Program prog;
    prog.section_ = p.section;
    prog.fd_ = fd;
    (void)ProgFromFd(fd, &prog.prog_);
    programs_.push_back(std::move(prog));
  }
  return 0;
}

// bpf_object__load for bytecode: maps (global data filled with the
// sections' bytes), then each program with its map relocations resolved to
// the new fds, checked and decoded by the interpreter.
int Object::LoadBytecode() {
  loaded_ = true;
  for (const ElfMap& m : elf_->maps) {
    const int fd = CreateMap({m.name.c_str(), m.type, m.key_size, m.value_size,
                              m.max_entries, m.map_flags, m.numa_node,
                              m.spin_lock_off, m.inner_type, m.inner_key_size,
                              m.inner_value_size, m.inner_max_entries,
                              m.inner_map_flags});
    if (fd < 0) {
      Unload();
      return fd;
    }
    if (m.internal) {
      const uint32_t zero = 0;
      if (int err = MapUpdateElem(fd, &zero, m.initial.data(), BPF_ANY);
          err != 0) {
        CloseFd(fd);
        Unload();
        return err;
      }
    }
    maps_.push_back(internal::MakeBound(m.real_name, fd, MapFromFd(fd)));
  }
  for (const ElfProgram& p : elf_->programs) {
    std::vector<interp::RawInsn> insns = p.insns;
    for (const ElfMapReloc& r : p.relocs) {
      insns[r.insn].imm = maps_[r.map]->fd;
      if (r.value) insns[r.insn + 1].imm = static_cast<int32_t>(r.offset);
    }
    const int fd = ProgLoadBytecode(p.prog_type, p.expected_attach_type,
                                    p.name, insns.data(),
                                    static_cast<uint32_t>(insns.size()),
                                    elf_->license.c_str());
    if (fd < 0) {
      Unload();
      return fd;
    }
    Program prog;
    prog.section_ = p.section;
    prog.fd_ = fd;
    (void)ProgFromFd(fd, &prog.prog_);
    programs_.push_back(std::move(prog));
  }
  return 0;
}

uint8_t* Object::InitialValue(std::string_view real_name, size_t* size) {
  if (elf_ == nullptr) return nullptr;
  for (ElfMap& m : elf_->maps) {
    if (m.internal && m.real_name == real_name) {
      *size = m.initial.size();
      return m.initial.data();
    }
  }
  return nullptr;
}

uint8_t* Object::LoadedValue(std::string_view real_name) const {
  for (const auto& b : maps_) {
    if (b->name == real_name) {
      auto* array = dynamic_cast<ArrayMap*>(b->map.get());
      return array != nullptr ? array->ValueAt(0) : nullptr;
    }
  }
  return nullptr;
}

void Object::Unload() {
  if (!loaded_) return;
  for (unsigned i = 0; def_ != nullptr && i < def_->nmaps && i < maps_.size();
       ++i) {
    internal::Bind(def_->maps[i].def, nullptr);
  }
  for (auto& b : maps_) CloseFd(b->fd);
  maps_.clear();
  for (Program& p : programs_) CloseFd(p.fd_);
  programs_.clear();
  loaded_ = false;
  if (def_ == nullptr) return;
  Registry& r = Registry::Get();
  LocalMutexLock l(&r.mu);
  r.loaded[def_] = false;
}

std::vector<std::string> Object::ProgramNames() const {
  std::vector<std::string> names;
  if (elf_ != nullptr) {
    for (const ElfProgram& p : elf_->programs) names.push_back(p.name);
    return names;
  }
  for (unsigned i = 0; i < def_->nprogs; ++i) {
    names.push_back(def_->progs[i].name);
  }
  return names;
}

std::vector<std::string> Object::MapNames() const {
  std::vector<std::string> names;
  if (elf_ != nullptr) {
    for (const ElfMap& m : elf_->maps) names.push_back(m.real_name);
    return names;
  }
  for (unsigned i = 0; i < def_->nmaps; ++i) names.push_back(def_->maps[i].name);
  return names;
}

std::vector<Object::MapDesc> Object::MapDescs() const {
  std::vector<MapDesc> out;
  if (elf_ != nullptr) {
    for (const ElfMap& m : elf_->maps) {
      out.push_back({m.name, m.real_name, m.type, m.key_size, m.value_size,
                     m.max_entries, m.map_flags});
    }
    return out;
  }
  for (unsigned i = 0; i < def_->nmaps; ++i) {
    const bpfemu_map_def& m = def_->maps[i];
    out.push_back({m.name, m.name, m.type, m.key_size, m.value_size,
                   m.max_entries, m.map_flags});
  }
  return out;
}

int Object::MapFd(std::string_view name) const {
  for (const auto& b : maps_) {
    if (b->name == name) return b->fd;
  }
  return -ENOENT;
}

std::shared_ptr<Map> Object::FindMap(std::string_view name) const {
  for (const auto& b : maps_) {
    if (b->name == name) return b->map;
  }
  return nullptr;
}

const Program* Object::FindProgram(std::string_view name) const {
  for (const Program& p : programs_) {
    if (p.name() == name) return &p;
  }
  return nullptr;
}

}  // namespace bpfemu::native

extern "C" void bpfemu_register_object(const bpfemu_object_def* obj) {
  auto& r = bpfemu::native::Registry::Get();
  bpfemu::LocalMutexLock l(&r.mu);
  r.objects[obj->name] = obj;
}
