// SPDX-License-Identifier: Apache-2.0
// fentry_cases.h's backend on bpfemu: tests/examples/fentry.bpf.c as a
// native object or as bytecode, attached with emu/trampoline.h's links
// (what libbpfemu's bpf_link_create calls) and test-run with
// loader/test_run.h's TestRun (what bpf_prog_test_run_opts calls).

#ifndef BPFEMU_TESTS_EXAMPLES_FENTRY_EMU_H_
#define BPFEMU_TESTS_EXAMPLES_FENTRY_EMU_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "emu/prog.h"
#include "emu/syscall.h"
#include "emu/trampoline.h"
#include "loader/object.h"
#include "loader/test_run.h"
#include "tests/examples/fentry_cases.h"

namespace bpfemu::examples::fentry {

class EmuBackend : public Backend {
 public:
  explicit EmuBackend(native::Object* obj) : obj_(obj) {}
  int Link(const std::string& prog, uint32_t attach_type, uint32_t target_fd,
           uint32_t target_btf_id, uint64_t cookie) override {
    return TracingLinkCreate(Fd(prog), attach_type, target_fd, target_btf_id,
                             cookie);
  }
  int RawTpOpen(const std::string& prog, const char* name) override {
    return TracingRawTpOpen(Fd(prog), name);
  }
  int LinkDetach(int link_fd) override {
    // bpf_link_detach (compat/libbpf_attach.cc): no detach operation.
    return IsTracingLinkFd(link_fd) ? -EOPNOTSUPP : -EINVAL;
  }
  void Close(int fd) override { CloseFd(fd); }
  int Run(const std::string& prog, uint32_t flags, uint32_t cpu,
          uint32_t* retval) override {
    std::shared_ptr<const Prog> p;
    if (int err = ProgFromFd(Fd(prog), &p); err != 0) return err;
    native::TestRunAttr attr;
    attr.flags = flags;
    attr.cpu = cpu;
    native::TestRunOutput out;
    const int err = native::TestRun(*p, attr, &out);
    *retval = out.retval;
    return err;
  }
  void SetCfg(const Cfg& c) override {
    const uint32_t zero = 0;
    (void)MapUpdateElem(obj_->MapFd("cfg"), &zero, &c, BPF_ANY);
  }
  Out ReadOut() override {
    const uint32_t zero = 0;
    Out o = {};
    (void)MapLookupElem(obj_->MapFd("out"), &zero, &o);
    return o;
  }
  void ClearOut() override {
    const uint32_t zero = 0;
    const Out o = {};
    (void)MapUpdateElem(obj_->MapFd("out"), &zero, &o, BPF_ANY);
  }

 private:
  int Fd(const std::string& prog) {
    const native::Program* p = obj_->FindProgram(prog);
    return p != nullptr ? p->fd() : -1;
  }
  native::Object* obj_;
};

// The scenario on tests/examples/fentry.bpf.o loaded on bpfemu, as
// bytecode or as the native object; *error says why it could not run.
inline std::vector<std::string> EmuScenario(bool bytecode, std::string* error) {
  const std::string path = "tests/examples/fentry.bpf.o";
  auto obj = bytecode ? native::Object::OpenBytecode(path)
                      : native::Object::Open("fentry");
  if (!obj.ok()) {
    *error = obj.status().ToString();
    return {};
  }
  if (int err = (*obj)->Load(); err != 0) {
    *error = "load: " + std::to_string(err);
    return {};
  }
  EmuBackend b(obj->get());
  return RunScenario(b);
}

}  // namespace bpfemu::examples::fentry

#endif  // BPFEMU_TESTS_EXAMPLES_FENTRY_EMU_H_
