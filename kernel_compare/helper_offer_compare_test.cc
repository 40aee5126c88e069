// SPDX-License-Identifier: Apache-2.0
// Which helpers each program type may call, measured on the running kernel
// and compared with bpfemu's bytecode loader, for every program type the
// kernel loads and every helper id of the target version.
//
// The kernel's answer is the verifier's (kernel/bpf/verifier.c
// check_helper_call): a one-call program `call H; r0 = 0; exit` loads, is
// refused on its arguments (the helper was offered: the verifier got past
// env->ops->get_func_proto), or is refused before that with "program of
// this type cannot use helper" / "unknown func" / "invalid func" (not
// offered), "helper call is not allowed in probe" (fn->allowed) or "helper
// call might sleep in a non-sleepable prog" (fn->might_sleep). bpfemu
// checks no arguments, so "loaded" and "refused on arguments" are one
// class. A helper bpfemu does not emulate is refused with its own log line
// (docs/helpers.md); those pairs are counted, not compared.
//
// With HELPER_OFFER_OUT=FILE the kernel's table is also written to FILE,
// one line per helper: `id name type,type,...` (the program types offered
// it) — the source of docs/helpers.md's "offered to" column
// (tools/helper_offer.txt, tools/helper_coverage.py).
//
// The same for kfuncs: every FUNC of the kernel's BTF tagged "bpf_kfunc"
// called as `call kfunc; r0 = 0; exit` (check_kfunc_call: "calling kernel
// function X is not allowed" when the type's kfunc sets lack it, then the
// sleepable and destructive checks, then the arguments). A kfunc bpfemu
// refuses to every program type is one it lacks: counted, not compared.
// KFUNC_OFFER_OUT=FILE writes `name type,type,...` (tools/kfunc_offer.txt).

#include <bpf/btf.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "emu/helper_names.h"
#include "emu/interp_asm.h"
#include "emu/syscall.h"
#include "emu/version.h"
#include "gtest/gtest.h"
#include "loader/bytecode.h"
#include "testing/kernel_test.h"
#include "testing/raw_prog_load.h"

namespace bpfemu {
namespace {

namespace a = interp::asm_;
using Insns = std::vector<interp::RawInsn>;

// How a program type is loaded: libbpf's section defaults.
struct ProgKind {
  uint32_t type;
  const char* name;
  uint32_t attach_type = 0;
  uint32_t prog_flags = 0;
  const char* attach_func = nullptr;     // attach_btf_id: a vmlinux FUNC
  uint32_t attach_kind = BTF_KIND_FUNC;  // or the STRUCT of a struct_ops
};

const ProgKind kKinds[] = {
    {BPF_PROG_TYPE_SOCKET_FILTER, "socket_filter"},
    {BPF_PROG_TYPE_KPROBE, "kprobe"},
    {BPF_PROG_TYPE_SCHED_CLS, "sched_cls"},
    {BPF_PROG_TYPE_SCHED_ACT, "sched_act"},
    {BPF_PROG_TYPE_TRACEPOINT, "tracepoint"},
    {BPF_PROG_TYPE_XDP, "xdp"},
    {BPF_PROG_TYPE_PERF_EVENT, "perf_event"},
    {BPF_PROG_TYPE_CGROUP_SKB, "cgroup_skb", BPF_CGROUP_INET_INGRESS},
    {BPF_PROG_TYPE_CGROUP_SOCK, "cgroup_sock", BPF_CGROUP_INET_SOCK_CREATE},
    {BPF_PROG_TYPE_LWT_IN, "lwt_in"},
    {BPF_PROG_TYPE_LWT_OUT, "lwt_out"},
    {BPF_PROG_TYPE_LWT_XMIT, "lwt_xmit"},
    {BPF_PROG_TYPE_SOCK_OPS, "sock_ops"},
    {BPF_PROG_TYPE_SK_SKB, "sk_skb"},
    {BPF_PROG_TYPE_CGROUP_DEVICE, "cgroup_device", BPF_CGROUP_DEVICE},
    {BPF_PROG_TYPE_SK_MSG, "sk_msg"},
    {BPF_PROG_TYPE_RAW_TRACEPOINT, "raw_tracepoint"},
    {BPF_PROG_TYPE_CGROUP_SOCK_ADDR, "cgroup_sock_addr",
     BPF_CGROUP_INET4_CONNECT},
    {BPF_PROG_TYPE_LWT_SEG6LOCAL, "lwt_seg6local"},
    {BPF_PROG_TYPE_SK_REUSEPORT, "sk_reuseport"},
    {BPF_PROG_TYPE_FLOW_DISSECTOR, "flow_dissector"},
    {BPF_PROG_TYPE_CGROUP_SYSCTL, "cgroup_sysctl", BPF_CGROUP_SYSCTL},
    {BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE, "raw_tracepoint_writable"},
    {BPF_PROG_TYPE_CGROUP_SOCKOPT, "cgroup_sockopt", BPF_CGROUP_GETSOCKOPT},
    {BPF_PROG_TYPE_TRACING, "tracing", BPF_TRACE_FENTRY, 0, "bpf_fentry_test1"},
    {BPF_PROG_TYPE_SK_LOOKUP, "sk_lookup", BPF_SK_LOOKUP},
    {BPF_PROG_TYPE_SYSCALL, "syscall", 0, BPF_F_SLEEPABLE},
    // BPF_PROG_TYPE_NETFILTER and BPF_NETFILTER (6.4), newer than the
    // build's uapi headers.
    {32, "netfilter", 45},
    // A congestion control's ssthresh and release (sops50): attach_btf_id
    // the struct, expected_attach_type the member index.
    {BPF_PROG_TYPE_STRUCT_OPS, "struct_ops_tcp_ca", 0, 0, "tcp_congestion_ops",
     BTF_KIND_STRUCT},
    {BPF_PROG_TYPE_STRUCT_OPS, "struct_ops_tcp_ca_release", 17, 0,
     "tcp_congestion_ops", BTF_KIND_STRUCT},
};

enum class Answer {
  kOffered,
  kNotOffered,
  kNotAllowed,
  kMightSleep,
  kNotSupported,
  kOther
};

const char* AnswerName(Answer a) {
  switch (a) {
    case Answer::kOffered:
      return "offered";
    case Answer::kNotOffered:
      return "not offered";
    case Answer::kNotAllowed:
      return "not allowed";
    case Answer::kMightSleep:
      return "might sleep";
    case Answer::kNotSupported:
      return "not supported";
    case Answer::kOther:
      return "other";
  }
  return "?";
}

// The verifier's answer from the load's result and log.
Answer Classify(int fd, const std::string& log) {
  if (fd >= 0) return Answer::kOffered;
  if (log.find("cannot use helper") != std::string::npos ||
      log.find("unknown func") != std::string::npos ||
      log.find("invalid func") != std::string::npos) {
    return Answer::kNotOffered;
  }
  if (log.find("is not allowed in probe") != std::string::npos) {
    return Answer::kNotAllowed;
  }
  if (log.find("might sleep") != std::string::npos ||
      log.find("must be sleepable to call sleepable kfunc") !=
          std::string::npos) {
    return Answer::kMightSleep;
  }
  if (log.find("calling kernel function") != std::string::npos &&
      log.find("is not allowed") != std::string::npos) {
    return Answer::kNotOffered;
  }
  if (log.find("destructive kfunc calls require") != std::string::npos) {
    return Answer::kNotAllowed;
  }
  if (fd == -524 &&
      (log.find("not supported for program type") != std::string::npos ||
       log.find("supported only for") != std::string::npos)) {
    return Answer::kNotSupported;
  }
  if (log.find("GPL-restricted") != std::string::npos) return Answer::kOther;
  // Refused on its arguments or later: the helper was offered.
  return Answer::kOffered;
}

uint32_t VmlinuxFuncId(const char* name, uint32_t kind = BTF_KIND_FUNC) {
  struct btf* btf = btf__load_vmlinux_btf();
  if (btf == nullptr) return 0;
  const int id = btf__find_by_name_kind(btf, name, kind);
  btf__free(btf);
  return id > 0 ? static_cast<uint32_t>(id) : 0;
}

struct Loaded {
  int fd;
  std::string log;
};

RawProg Raw(const ProgKind& k, uint32_t btf_id, const Insns& insns) {
  return {.type = k.type,
          .attach_type = k.attach_type,
          .prog_flags = k.prog_flags,
          .attach_btf_id = btf_id,
          .insns = insns};
}

// Each loads on its side and closes what loaded: the errno and the log.
Loaded KernelLoad(const ProgKind& k, uint32_t btf_id, const Insns& insns) {
  RawLoaded r = KernelLoadRaw(Raw(k, btf_id, insns));
  if (r.fd >= 0) close(r.fd);
  return {r.fd, std::move(r.log)};
}

Loaded EmuLoad(const ProgKind& k, uint32_t btf_id, const Insns& insns) {
  RawLoaded r = EmuLoadRaw(Raw(k, btf_id, insns));
  if (r.fd >= 0) (void)CloseFd(r.fd);
  return {r.fd, std::move(r.log)};
}

// Where this host's kernel build and the kernel source bpfemu follows
// disagree (measured by the test named).
struct HostQuirk {
  uint32_t type;  // kAnyType: every program type
  int32_t helper;
  const char* why;
};
constexpr uint32_t kAnyType = ~0u;
const HostQuirk kHostQuirks[] = {
    {BPF_PROG_TYPE_XDP, BPF_FUNC_xdp_adjust_meta,
     "the 6.18.44 host build refuses it, the 6.18 source offers it "
     "(tests/examples/examples_compare_test.cc HostKernel.XdpAdjustMetaOffer)"},
    {kAnyType, BPF_FUNC_probe_write_user,
     "the host runs lockdown at integrity, which takes the helper from every "
     "program (LOCKDOWN_BPF_WRITE_USER); bpfemu models a kernel without "
     "lockdown (tests/examples/tracing_misc_compare_test.cc)"},
};

const HostQuirk* QuirkOf(uint32_t type, int32_t helper) {
  for (const HostQuirk& q : kHostQuirks) {
    if ((q.type == type || q.type == kAnyType) && q.helper == helper) {
      return &q;
    }
  }
  return nullptr;
}

Insns CallOf(int32_t helper) {
  return {a::Call(helper), a::MovImm(BPF_REG_0, 0), a::Exit()};
}

// The program types this kernel loads (a trivial program), with their
// attach BTF ids; the others are named in `skipped`.
struct LoadableKind {
  const ProgKind* kind;
  uint32_t btf_id;
};

std::vector<LoadableKind> LoadableKinds(std::vector<std::string>* skipped) {
  std::vector<LoadableKind> out;
  for (const ProgKind& k : kKinds) {
    uint32_t btf_id = 0;
    if (k.attach_func != nullptr) {
      btf_id = VmlinuxFuncId(k.attach_func, k.attach_kind);
      if (btf_id == 0) {
        skipped->push_back(absl::StrCat(k.name, " (no vmlinux BTF)"));
        continue;
      }
    }
    const Insns trivial = {a::MovImm(BPF_REG_0, 0), a::Exit()};
    const Loaded base = KernelLoad(k, btf_id, trivial);
    if (base.fd < 0) {
      skipped->push_back(absl::StrCat(k.name, " (kernel: ", base.fd, ")"));
      continue;
    }
    out.push_back({&k, btf_id});
  }
  return out;
}

// Sets bpfemu's target to the running kernel's version; false (and the
// release in *release) when bpfemu has no semantics for it.
bool TargetTheRunningKernel(std::string* release) {
  struct utsname u;
  if (uname(&u) != 0) return false;
  *release = u.release;
  // "6.18.44-..." -> "6.18"
  const std::string major_minor =
      release->substr(0, release->find('.', release->find('.') + 1));
  const std::optional<KernelVersion> v = ParseKernelVersion(major_minor);
  if (!v.has_value()) return false;
  SetTargetKernel(*v);
  return true;
}

// The kernel's kfuncs: FUNCs a "bpf_kfunc" DECL_TAG points at, by name.
std::map<std::string, uint32_t> KernelKfuncs() {
  std::map<std::string, uint32_t> out;
  struct btf* btf = btf__load_vmlinux_btf();
  if (btf == nullptr) return out;
  const uint32_t n = btf__type_cnt(btf);
  for (uint32_t id = 1; id < n; ++id) {
    const struct btf_type* t = btf__type_by_id(btf, id);
    if (btf_kind(t) != BTF_KIND_DECL_TAG ||
        std::strcmp(btf__name_by_offset(btf, t->name_off), "bpf_kfunc") != 0) {
      continue;
    }
    const struct btf_type* f = btf__type_by_id(btf, t->type);
    if (f != nullptr && btf_kind(f) == BTF_KIND_FUNC) {
      out[btf__name_by_offset(btf, f->name_off)] = t->type;
    }
  }
  // Kernels built with a pahole that writes no kfunc tags (Debian's 6.1
  // and 6.12): every FUNC named bpf_*, kfunc or not (the others are
  // refused to every type, by the kernel and by bpfemu alike).
  if (out.empty()) {
    for (uint32_t id = 1; id < n; ++id) {
      const struct btf_type* t = btf__type_by_id(btf, id);
      const char* name = btf__name_by_offset(btf, t->name_off);
      if (btf_kind(t) == BTF_KIND_FUNC && std::strncmp(name, "bpf_", 4) == 0) {
        out[name] = id;
      }
    }
  }
  btf__free(btf);
  return out;
}

class HelperOfferCompareTest : public KernelTest<> {};

TEST_F(HelperOfferCompareTest, EveryProgramTypeIsOfferedTheKernelsKfuncs) {
  std::string release;
  if (!TargetTheRunningKernel(&release)) {
    GTEST_SKIP() << "bpfemu has no semantics for kernel " << release;
  }
  const std::map<std::string, uint32_t> kfuncs = KernelKfuncs();
  if (kfuncs.empty()) GTEST_SKIP() << "no kernel BTF";
  std::vector<std::string> skipped;
  const std::vector<LoadableKind> kinds = LoadableKinds(&skipped);
  int compared = 0, equal = 0, lacking = 0, lacking_pairs = 0;
  std::map<std::string, std::vector<std::string>> offered_to;
  for (const auto& [name, id] : kfuncs) {
    const Insns insns = {a::CallKfunc(static_cast<int32_t>(id)),
                         a::MovImm(BPF_REG_0, 0), a::Exit()};
    struct Pair {
      const ProgKind* kind;
      Answer kernel, emu;
      Loaded kl, el;
    };
    std::vector<Pair> pairs;
    bool emu_anywhere = false;
    for (const LoadableKind& lk : kinds) {
      const Loaded kl = KernelLoad(*lk.kind, lk.btf_id, insns);
      const Loaded el = EmuLoad(*lk.kind, lk.btf_id, insns);
      const Answer ka = Classify(kl.fd, kl.log);
      const Answer ea = Classify(el.fd, el.log);
      if (ka == Answer::kOffered) offered_to[name].push_back(lk.kind->name);
      if (ea != Answer::kNotOffered) emu_anywhere = true;
      pairs.push_back({lk.kind, ka, ea, kl, el});
    }
    // The 6.18 host refuses every ARENA map, and the arena kfuncs to every
    // program type (docs/semantics.md, ARENA); the 6.12 guest offers them.
    const bool arena =
        name == "bpf_arena_alloc_pages" || name == "bpf_arena_free_pages";
    if (arena && offered_to.count(name) == 0) {
      std::printf(
          "kfunc %s: refused to every program type by this kernel "
          "(it makes no ARENA maps); not compared\n",
          name.c_str());
      continue;
    }
    if (!emu_anywhere) {  // bpfemu lacks it
      if (offered_to.count(name) != 0) {
        std::printf("kfunc %s: bpfemu lacks it; the kernel offers it to %s\n",
                    name.c_str(), absl::StrJoin(offered_to[name], ",").c_str());
      }
      lacking += offered_to.count(name) != 0;
      lacking_pairs += static_cast<int>(offered_to[name].size());
      continue;
    }
    for (const Pair& p : pairs) {
      ++compared;
      const bool same = p.emu == p.kernel &&
                        (p.kernel == Answer::kOffered ||
                         (p.el.fd == p.kl.fd && VerifierReason(p.el.log) ==
                                                    VerifierReason(p.kl.log)));
      if (same) {
        ++equal;
        continue;
      }
      ADD_FAILURE() << p.kind->name << " calling kfunc " << name << ": kernel "
                    << AnswerName(p.kernel) << " (" << p.kl.fd << ", "
                    << VerifierReason(p.kl.log) << "), bpfemu "
                    << AnswerName(p.emu) << " (" << p.el.fd << ", "
                    << VerifierReason(p.el.log) << ")";
    }
  }
  std::printf(
      "kfunc offers, kernel %s: %zu program types x %zu kfuncs; %d pairs "
      "compared, %d equal; bpfemu lacks %d kfuncs the kernel offers (%d "
      "pairs)\n",
      release.c_str(), kinds.size(), kfuncs.size(), compared, equal, lacking,
      lacking_pairs);
  if (const char* out = std::getenv("KFUNC_OFFER_OUT"); out != nullptr) {
    std::ofstream f(out);
    f << "# Program types offered each kfunc, measured on Linux " << release
      << "\n# by //kernel_compare:helper_offer_compare_test "
      << "(KFUNC_OFFER_OUT). Types loaded: " << kinds.size() << ".\n";
    for (const auto& [name, id] : kfuncs) {
      const auto it = offered_to.find(name);
      f << name << " "
        << (it == offered_to.end() || it->second.empty()
                ? "-"
                : absl::StrJoin(it->second, ","))
        << "\n";
    }
  }
}

TEST_F(HelperOfferCompareTest, EveryProgramTypeIsOfferedTheKernelsHelpers) {
  std::string release;
  if (!TargetTheRunningKernel(&release)) {
    GTEST_SKIP() << "bpfemu has no semantics for kernel " << release;
  }
  const int max_id = HelperIdLimit(TargetKernel()) - 1;

  int compared = 0, equal = 0, quirks = 0, unemulated_offered = 0,
      unemulated_refused = 0, kinds_loaded = 0;
  std::map<int, std::vector<std::string>> offered_to;  // helper -> types
  std::vector<std::string> skipped;
  for (const LoadableKind& lk : LoadableKinds(&skipped)) {
    const ProgKind& k = *lk.kind;
    const uint32_t btf_id = lk.btf_id;
    const Insns trivial = {a::MovImm(BPF_REG_0, 0), a::Exit()};
    ++kinds_loaded;
    const Loaded emu_base = EmuLoad(k, btf_id, trivial);
    EXPECT_GE(emu_base.fd, 0) << k.name << ": " << emu_base.log;
    for (int id = 1; id <= max_id; ++id) {
      const Insns insns = CallOf(id);
      const Loaded kl = KernelLoad(k, btf_id, insns);
      const Answer ka = Classify(kl.fd, kl.log);
      if (ka == Answer::kOffered) offered_to[id].push_back(k.name);
      const Loaded el = EmuLoad(k, btf_id, insns);
      if (el.log.find("does not emulate") != std::string::npos) {
        (ka == Answer::kNotOffered ? unemulated_refused : unemulated_offered)++;
        continue;
      }
      const Answer ea = Classify(el.fd, el.log);
      ++compared;
      // A refusal must also have the kernel's errno and log line.
      const bool same =
          ea == ka && (ka == Answer::kOffered ||
                       (el.fd == kl.fd &&
                        VerifierReason(el.log) == VerifierReason(kl.log)));
      if (same) {
        ++equal;
        continue;
      }
      if (const HostQuirk* q = QuirkOf(k.type, id); q != nullptr) {
        std::printf("%s calling bpf_%s: kernel %s, bpfemu %s: %s\n", k.name,
                    std::string(HelperName(id)).c_str(), AnswerName(ka),
                    AnswerName(ea), q->why);
        ++quirks;
        continue;
      }
      ADD_FAILURE() << k.name << " calling " << HelperName(id) << "#" << id
                    << ": kernel " << AnswerName(ka) << " (" << kl.fd
                    << ", log tail: " << VerifierReason(kl.log) << "), bpfemu "
                    << AnswerName(ea) << " (" << el.fd << ", "
                    << VerifierReason(el.log) << ")";
    }
  }
  std::printf(
      "helper offers, kernel %s: %d program types x %d helpers; %d pairs "
      "compared, %d equal, %d host quirks; not emulated by bpfemu: %d pairs "
      "the kernel offers, %d it refuses\n",
      release.c_str(), kinds_loaded, max_id, compared, equal, quirks,
      unemulated_offered, unemulated_refused);
  if (!skipped.empty()) {
    std::printf("program types the kernel does not load: %s\n",
                absl::StrJoin(skipped, ", ").c_str());
  }
  EXPECT_GT(kinds_loaded, 20);
  if (const char* out = std::getenv("HELPER_OFFER_OUT"); out != nullptr) {
    std::ofstream f(out);
    f << "# Program types offered each helper, measured on Linux " << release
      << "\n# by //kernel_compare:helper_offer_compare_test "
      << "(HELPER_OFFER_OUT). Types loaded: " << kinds_loaded << ".\n";
    for (int id = 1; id <= max_id; ++id) {
      const auto it = offered_to.find(id);
      f << id << " " << HelperName(id) << " "
        << (it == offered_to.end() ? "-" : absl::StrJoin(it->second, ","))
        << "\n";
    }
  }
}

}  // namespace
}  // namespace bpfemu
