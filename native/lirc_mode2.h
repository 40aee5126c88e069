// SPDX-License-Identifier: Apache-2.0
// File: lirc_mode2.h
//
// A raw IR receiver running BPF_PROG_TYPE_LIRC_MODE2 programs, and the
// events its rc core reports: drivers/media/rc/bpf-lirc.c (lirc_bpf_run:
// each LIRC_MODE2 sample, a u32 of type and duration, is the programs'
// context; bpf_rc_keydown, bpf_rc_repeat, bpf_rc_pointer_rel),
// drivers/media/rc/rc-main.c (rc_keydown / ir_do_keydown, rc_repeat,
// ir_do_keyup, ir_timer_keyup, rc_g_keycode_from_table, repeat_period,
// rc_setup_rx_device's capabilities) and drivers/input/input.c (which
// events reach an evdev reader: input_get_disposition, input_handle_event,
// the soft autorepeat of input_start_autorepeat / input_repeat_key).
//
// No kernel bpfemu is compared with has such a device (the programs attach
// to a /dev/lircN with BPF_LIRC_MODE2, and there is no test run), so this
// model is checked against the kernel source only
// (tests/examples/lirc_model_test.cc, docs/helpers.md).
//
// Time is the model's own, in milliseconds (Advance); the kernel counts
// jiffies, whose rounding (HZ) is not modelled.

#ifndef BPFEMU_NATIVE_LIRC_MODE2_H_
#define BPFEMU_NATIVE_LIRC_MODE2_H_

#include <cstdint>
#include <map>
#include <vector>

#include "emu/prog.h"

namespace bpfemu::native {

// struct input_event's type, code and value, as an evdev reader reads them.
struct InputEvent {
  uint16_t type = 0;
  uint16_t code = 0;
  int32_t value = 0;
  bool operator==(const InputEvent& o) const {
    return type == o.type && code == o.code && value == o.value;
  }
};

// struct lirc_scancode as a LIRC_MODE_SCANCODE reader reads it (the
// timestamp left out).
struct LircScancode {
  uint64_t scancode = 0;
  uint32_t rc_proto = 0;
  uint32_t keycode = 0;
  uint16_t flags = 0;  // LIRC_SCANCODE_FLAG_TOGGLE / _REPEAT
  bool operator==(const LircScancode& o) const {
    return scancode == o.scancode && rc_proto == o.rc_proto &&
           keycode == o.keycode && flags == o.flags;
  }
};

class RcDevice {
 public:
  // `keymap`: scancode -> keycode (the rc_map; anything else KEY_RESERVED).
  // The timeout is IR_DEFAULT_TIMEOUT (125 ms) unless given; the input
  // device's autorepeat is rc_setup_rx_device's (rc-main.c: 500 ms delay,
  // 125 ms period, set over input_register_device's 250/33).
  explicit RcDevice(std::map<uint64_t, uint32_t> keymap,
                    uint32_t timeout_us = 125000);

  // lirc_bpf_run(): `prog` runs with the sample as its context (its return
  // value is ignored, as bpf_prog_run_array's is here).
  void Raw(const Prog& prog, uint32_t sample);
  // Time passes: the keyup timer and the input autorepeat fire when due.
  void Advance(uint32_t ms);

  const std::vector<InputEvent>& events() const { return events_; }
  const std::vector<LircScancode>& scancodes() const { return scancodes_; }
  bool keypressed() const { return keypressed_; }

  // What the helpers do (rc_keydown, rc_repeat, input_report_rel x2 +
  // input_sync).
  void Keydown(uint32_t protocol, uint64_t scancode, bool toggle);
  void Repeat();
  void PointerRel(int32_t x, int32_t y);

 private:
  void InputEventIn(uint16_t type, uint16_t code, int32_t value);
  void KeyUp(bool sync);
  uint32_t RepeatPeriod(uint32_t protocol) const;

  std::map<uint64_t, uint32_t> keymap_;
  uint32_t timeout_us_;
  uint64_t now_ms_ = 0;
  bool keypressed_ = false;
  uint32_t last_protocol_ = 0;
  uint64_t last_scancode_ = 0;
  bool last_toggle_ = false;
  uint32_t last_keycode_ = 0;
  uint64_t keyup_at_ = 0;
  // The input device: keys down, the autorepeat, the events not yet synced.
  std::map<uint16_t, bool> key_down_;
  bool repeating_ = false;
  uint16_t repeat_key_ = 0;
  uint64_t repeat_at_ = 0;
  std::vector<InputEvent> pending_;
  std::vector<InputEvent> events_;
  std::vector<LircScancode> scancodes_;
};

}  // namespace bpfemu::native

#endif  // BPFEMU_NATIVE_LIRC_MODE2_H_
