// SPDX-License-Identifier: Apache-2.0
// tests/examples/fentry.bpf.c's scenario, shared by fentry_compare_test
// (the kernel and bpfemu) and fentry_test (bpfemu against the expected
// answers, testdata/fentry.expected): every program attached (a cookie
// per link), a TRACING test run of each kind (fentry/fexit: the
// bpf_fentry_test* calls; fmod_ret: bpf_modify_return_test and _test2)
// with fmod_ret returning 0, 100 and -5, the link and test-run refusals,
// detaching by close and attaching again with BPF_RAW_TRACEPOINT_OPEN; the
// `out` map after each run.
//
// Record format: one line per key, tab-separated: "<step>" and the step's
// return value (link fds as "fd"); "out.<step>" the fields of `out`, with
// the function addresses as "ip=kallsyms" (bpf_get_func_ip equal to the
// function's /proc/kallsyms address, else "other"; "-" when the program
// did not run) and the pid
// namespace answer as whether it names the calling thread; "order" the
// position test1 and misc (both on bpf_fentry_test1) ran at, newest link
// first.

#ifndef BPFEMU_TESTS_EXAMPLES_FENTRY_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_FENTRY_CASES_H_

#include <linux/bpf.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include "native/syscall_helpers.h"

namespace bpfemu::examples::fentry {

// fentry.bpf.c's struct cfg and struct out.
struct Cfg {
  int64_t fmod_ret;
  uint64_t pidns_dev, pidns_ino;
};
struct Out {
  uint64_t hits[8];
  int64_t t1_a, t1_cnt, t1_arg0_err, t1_arg0, t1_arg1_err, t1_arg1;
  uint64_t t1_ip, t1_cookie;
  int64_t t2_a, t2_b, t2_ret, t2_cnt, t2_ret_err, t2_ret_val, t2_arg2_err;
  uint64_t t2_ip, t2_cookie;
  int64_t t3[4];
  int64_t t6[8];
  int64_t mr_a, mr_prev, mr_cnt, mr_ret_err, mr_ret_val;
  int64_t mx_a, mx_ret, mx_ret_err, mx_ret_val;
  int64_t printk_ret, vprintk_ret, ns_ret, ns_bad_size, ns_bad_dev, ns_bad_ino;
  uint32_t ns_pid, ns_tgid;
  uint64_t pid_tgid;
  uint64_t seq, t1_seq, misc_seq;
};

// The programs in fentry.bpf.c and their attach types, in the order the
// scenario attaches them.
struct Attached {
  std::string name;
  uint32_t attach_type;
};
inline const std::vector<Attached>& Programs() {
  static const std::vector<Attached> p = {
      {"test1", BPF_TRACE_FENTRY},    {"test2", BPF_TRACE_FEXIT},
      {"test3", BPF_TRACE_FENTRY},    {"test6", BPF_TRACE_FEXIT},
      {"mod_ret", BPF_MODIFY_RETURN}, {"fexit_mod", BPF_TRACE_FEXIT},
      {"never", BPF_TRACE_FENTRY},    {"misc", BPF_TRACE_FENTRY}};
  return p;
}

class Backend {
 public:
  virtual ~Backend() = default;
  // BPF_LINK_CREATE of program `prog`: a link fd or -errno.
  virtual int Link(const std::string& prog, uint32_t attach_type,
                   uint32_t target_fd, uint32_t target_btf_id,
                   uint64_t cookie) = 0;
  // BPF_RAW_TRACEPOINT_OPEN: a link fd or -errno.
  virtual int RawTpOpen(const std::string& prog, const char* name) = 0;
  virtual int LinkDetach(int link_fd) = 0;  // 0 or -errno
  virtual void Close(int fd) = 0;
  // BPF_PROG_TEST_RUN: 0 or -errno, *retval.
  virtual int Run(const std::string& prog, uint32_t flags, uint32_t cpu,
                  uint32_t* retval) = 0;
  virtual void SetCfg(const Cfg& c) = 0;
  virtual Out ReadOut() = 0;
  virtual void ClearOut() = 0;
};

// The function's address in /proc/kallsyms (0 if none is shown): the
// kernel's, and bpfemu's model of it (native/syscall_helpers.h).
inline uint64_t Kallsyms(const std::string& func) {
  uint64_t addr = 0;
  (void)native::KallsymsLookupName(
      func.c_str(), static_cast<int32_t>(func.size() + 1), 0, &addr);
  return addr;
}

inline std::string Num(int64_t v) { return std::to_string(v); }

inline std::string OutLine(const std::string& step, const Out& o, uint64_t ip1,
                           uint64_t ip2) {
  std::string s = "out." + step + "\thits";
  for (uint64_t h : o.hits) s += " " + Num(static_cast<int64_t>(h));
  // Addresses change from boot to boot: only whether they match.
  auto ip = [](uint64_t got, uint64_t want) {
    return got == want ? std::string("kallsyms") : std::string("other");
  };
  s += " | t1 " + Num(o.t1_a) + " " + Num(o.t1_cnt) + " " + Num(o.t1_arg0_err) +
       " " + Num(o.t1_arg0) + " " + Num(o.t1_arg1_err) + " " + Num(o.t1_arg1) +
       " ip=" + (o.hits[0] != 0 ? ip(o.t1_ip, ip1) : "-") + " cookie " +
       Num(static_cast<int64_t>(o.t1_cookie));
  s += " | t2 " + Num(o.t2_a) + " " + Num(o.t2_b) + " " + Num(o.t2_ret) + " " +
       Num(o.t2_cnt) + " " + Num(o.t2_ret_err) + " " + Num(o.t2_ret_val) + " " +
       Num(o.t2_arg2_err) + " ip=" + (o.hits[1] != 0 ? ip(o.t2_ip, ip2) : "-") +
       " cookie " + Num(static_cast<int64_t>(o.t2_cookie));
  s += " | t3";
  for (int64_t v : o.t3) s += " " + Num(v);
  s += " | t6";
  for (int64_t v : o.t6) s += " " + Num(v);
  s += " | mr " + Num(o.mr_a) + " " + Num(o.mr_prev) + " " + Num(o.mr_cnt) +
       " " + Num(o.mr_ret_err) + " " + Num(o.mr_ret_val);
  s += " | mx " + Num(o.mx_a) + " " + Num(o.mx_ret) + " " + Num(o.mx_ret_err) +
       " " + Num(o.mx_ret_val);
  const uint64_t tid = static_cast<uint64_t>(syscall(SYS_gettid));
  const uint64_t pid = static_cast<uint64_t>(getpid());
  const bool ran = o.hits[7] != 0;
  s += " | misc " + Num(o.printk_ret) + " " + Num(o.vprintk_ret) + " " +
       Num(o.ns_ret) + " " + Num(o.ns_bad_size) + " " + Num(o.ns_bad_dev) +
       " " + Num(o.ns_bad_ino) + " ns=" +
       (!ran ? "-"
        : o.ns_pid == tid && o.ns_tgid == pid
            ? "self"
            : Num(o.ns_pid) + "/" + Num(o.ns_tgid)) +
       " pid_tgid=" +
       (!ran                              ? "-"
        : o.pid_tgid == (pid << 32 | tid) ? "self"
                                          : "other");
  s += " | order " + Num(static_cast<int64_t>(o.t1_seq)) + " " +
       Num(static_cast<int64_t>(o.misc_seq));
  return s + "\n";
}

// Runs the scenario; the record's lines in order.
inline std::vector<std::string> RunScenario(Backend& b) {
  std::vector<std::string> out;
  auto note = [&out](const std::string& step, int64_t ret) {
    out.push_back(step + "\t" + Num(ret) + "\n");
  };
  auto note_fd = [&out](const std::string& step, int ret) {
    out.push_back(step + "\t" + (ret >= 0 ? std::string("fd") : Num(ret)) +
                  "\n");
  };
  const uint64_t ip1 = Kallsyms("bpf_fentry_test1");
  const uint64_t ip2 = Kallsyms("bpf_fentry_test2");
  struct stat st = {};
  Cfg cfg = {};
  if (stat("/proc/self/ns/pid", &st) == 0) {
    cfg.pidns_dev = (uint64_t{major(st.st_dev)} << 20) | minor(st.st_dev);
    cfg.pidns_ino = st.st_ino;
  }
  b.SetCfg(cfg);
  b.ClearOut();
  auto run = [&](const std::string& step, const std::string& prog) {
    uint32_t retval = 0;
    const int err = b.Run(prog, 0, 0, &retval);
    out.push_back(step + "\t" + Num(err) + " " + Num(retval) + "\n");
    out.push_back(OutLine(step, b.ReadOut(), ip1, ip2));
    b.ClearOut();
  };
  // Before anything is attached: the functions run, no program does.
  run("run_unattached", "test1");
  std::vector<int> links;
  for (size_t i = 0; i < Programs().size(); ++i) {
    const Attached& p = Programs()[i];
    const int fd = b.Link(p.name, p.attach_type, 0, 0, 1000 + i);
    note_fd("link." + p.name, fd);
    links.push_back(fd);
  }
  run("run_fentry", "test1");
  run("run_fexit", "test2");
  run("run_modret_0", "mod_ret");
  for (int64_t r : {int64_t{100}, int64_t{-5}}) {
    cfg.fmod_ret = r;
    b.SetCfg(cfg);
    run("run_modret_" + Num(r), "mod_ret");
  }
  cfg.fmod_ret = 0;
  b.SetCfg(cfg);
  // link_create and the trampoline's refusals.
  note_fd("relink.test1", b.Link("test1", BPF_TRACE_FENTRY, 0, 0, 0));
  note_fd("link.test1.as_fexit", b.Link("test1", BPF_TRACE_FEXIT, 0, 0, 0));
  note_fd("link.test1.target_fd", b.Link("test1", BPF_TRACE_FENTRY, 1, 0, 0));
  note_fd("link.test1.target_btf_id",
          b.Link("test1", BPF_TRACE_FENTRY, 0, 1, 0));
  note_fd("link.test1.both", b.Link("test1", BPF_TRACE_FENTRY, 1, 1, 0));
  note_fd("link.test1.iter", b.Link("test1", BPF_TRACE_ITER, 0, 0, 0));
  note_fd("raw_tp_open.test1.linked", b.RawTpOpen("test1", nullptr));
  note_fd("raw_tp_open.test1.name", b.RawTpOpen("test1", "bpf_fentry_test1"));
  note("link_detach.test1", b.LinkDetach(links[0]));
  // The test run's own checks.
  uint32_t retval = 0;
  note("run.flags", b.Run("test1", 1, 0, &retval));
  note("run.cpu", b.Run("test1", 0, 1, &retval));
  // Detached by closing the link: test1 no longer runs; attached again
  // through BPF_RAW_TRACEPOINT_OPEN (cookie 0) it does.
  b.Close(links[0]);
  links[0] = -1;
  run("run_test1_closed", "test2");
  const int again = b.RawTpOpen("test1", nullptr);
  note_fd("raw_tp_open.test1", again);
  run("run_test1_again", "test3");
  for (int fd : links) {
    if (fd >= 0) b.Close(fd);
  }
  if (again >= 0) b.Close(again);
  run("run_all_closed", "test1");
  return out;
}

}  // namespace bpfemu::examples::fentry

#endif  // BPFEMU_TESTS_EXAMPLES_FENTRY_CASES_H_
