// SPDX-License-Identifier: Apache-2.0
// timer_cases.h's backend on bpfemu: tests/examples/timer.bpf.o natively or
// as bytecode, the waits made by advancing the emulated clock.

#ifndef BPFEMU_TESTS_EXAMPLES_TIMER_EMU_H_
#define BPFEMU_TESTS_EXAMPLES_TIMER_EMU_H_

#include <linux/bpf.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "emu/syscall.h"
#include "emu/timer.h"
#include "loader/object.h"
#include "tests/examples/packets.h"
#include "tests/examples/timer_cases.h"

namespace bpfemu::examples::timer {

class EmuBackend : public Backend {
 public:
  explicit EmuBackend(std::unique_ptr<native::Object> obj)
      : obj_(std::move(obj)), prog_(obj_->FindProgram("timers")) {}
  const native::Program* prog() const { return prog_; }
  int SetPhase(uint32_t phase) override {
    const uint32_t zero = 0;
    return MapUpdateElem(obj_->MapFd("phase"), &zero, &phase, BPF_ANY);
  }
  int Run(uint32_t* retval) override {
    const native::PacketResult r =
        prog_->RunSkb(Ipv4Frame(0x0a000001, 0x0a000002, 1000, 53, 17, 64));
    *retval = r.retval;
    return r.err;
  }
  void Wait(uint64_t ns) override { AdvanceTimers(ns); }
  int LookupArr(uint32_t key, Elem* e) override {
    return MapLookupElem(obj_->MapFd("arr"), &key, e);
  }
  int LookupHash(uint32_t key, Elem* e) override {
    return MapLookupElem(obj_->MapFd("hash"), &key, e);
  }
  int LookupRet(uint32_t slot, int64_t* ret) override {
    return MapLookupElem(obj_->MapFd("rets"), &slot, ret);
  }

 private:
  std::unique_ptr<native::Object> obj_;
  const native::Program* prog_;
};

}  // namespace bpfemu::examples::timer

#endif  // BPFEMU_TESTS_EXAMPLES_TIMER_EMU_H_
