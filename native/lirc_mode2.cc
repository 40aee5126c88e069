// SPDX-License-Identifier: Apache-2.0
// The LIRC_MODE2 receiver model and the rc helpers (lirc_mode2.h):
// drivers/media/rc/bpf-lirc.c bpf_rc_keydown / bpf_rc_repeat /
// bpf_rc_pointer_rel over drivers/media/rc/rc-main.c and
// drivers/input/input.c.

#include "native/lirc_mode2.h"

#include <linux/input-event-codes.h>

#include <algorithm>
#include <cstdint>
#include <utility>

#include "bpfemu/native_abi.h"

namespace bpfemu::native {
namespace {

// include/uapi/linux/lirc.h
constexpr uint16_t kScancodeFlagToggle = 1;  // LIRC_SCANCODE_FLAG_TOGGLE
constexpr uint16_t kScancodeFlagRepeat = 2;  // LIRC_SCANCODE_FLAG_REPEAT
// The autorepeat of an rc device that is not CEC-only:
// drivers/media/rc/rc-main.c rc_setup_rx_device() replaces
// input_register_device's soft repeat defaults (250 ms, 33 ms) with
// REP_DELAY 500 ms and REP_PERIOD 125 ms once the input device is
// registered.
constexpr uint32_t kRepDelayMs = 500, kRepPeriodMs = 125;

// The device whose programs run (lirc_bpf_run; the helpers find it from
// their context, container_of in the kernel).
thread_local RcDevice* running = nullptr;

}  // namespace

RcDevice::RcDevice(std::map<uint64_t, uint32_t> keymap, uint32_t timeout_us)
    : keymap_(std::move(keymap)), timeout_us_(timeout_us) {}

// protocols[].repeat_period (rc-main.c), 100 past the table.
uint32_t RcDevice::RepeatPeriod(uint32_t protocol) const {
  static constexpr uint32_t kPeriods[] = {
      125, 125, 114, 114, 114, 125, 100, 100, 100, 110, 110, 110, 125, 100,
      100, 114, 114, 114, 114, 114, 125, 125, 0,   114, 114, 114, 114, 64};
  return protocol < std::size(kPeriods) ? kPeriods[protocol] : 100;
}

// input_handle_event(): the disposition of one event, the values kept
// until a SYN_REPORT flushes them (dropped when the report is empty), and
// the autorepeat input_pass_values starts and stops.
void RcDevice::InputEventIn(uint16_t type, uint16_t code, int32_t value) {
  bool pass = false;
  switch (type) {
    case EV_SYN:
      if (code != SYN_REPORT) return;
      if (!pending_.empty()) {
        for (const InputEvent& e : pending_) {
          if (e.type == EV_KEY && e.value != 2) {
            if (e.value != 0) {
              repeating_ = true;
              repeat_key_ = e.code;
              repeat_at_ = now_ms_ + kRepDelayMs;
            } else {
              repeating_ = false;
            }
          }
        }
        events_.insert(events_.end(), pending_.begin(), pending_.end());
        events_.push_back({type, code, value});
      }
      pending_.clear();
      return;
    case EV_KEY: {
      // Every keycode of the keymap is supported (ir_update_mapping).
      bool supported = false;
      for (const auto& [scan, key] : keymap_) supported |= key == code;
      if (!supported) return;
      if (value == 2) {
        pass = true;
        break;
      }
      bool& down = key_down_[code];
      if (down != (value != 0)) {
        down = value != 0;
        pass = true;
      }
      break;
    }
    case EV_MSC:
      pass = code == MSC_SCAN;
      break;
    case EV_REL:
      pass = (code == REL_X || code == REL_Y) && value != 0;
      break;
    default:
      break;
  }
  if (pass) pending_.push_back({type, code, value});
}

// ir_do_keyup().
void RcDevice::KeyUp(bool sync) {
  if (!keypressed_) return;
  InputEventIn(EV_KEY, static_cast<uint16_t>(last_keycode_), 0);
  if (sync) InputEventIn(EV_SYN, SYN_REPORT, 0);
  keypressed_ = false;
}

// rc_keydown() / ir_do_keydown(): a new press (another protocol, scancode
// or toggle, or none down) releases the old key first; the scancode goes
// to lirc and, when it fits 32 bits, to MSC_SCAN; a mapped key goes down.
void RcDevice::Keydown(uint32_t protocol, uint64_t scancode, bool toggle) {
  const auto it = keymap_.find(scancode);
  const uint32_t keycode = it != keymap_.end() ? it->second : KEY_RESERVED;
  const bool new_event = !keypressed_ || last_protocol_ != protocol ||
                         last_scancode_ != scancode || last_toggle_ != toggle;
  scancodes_.push_back(
      {scancode, protocol, keycode,
       static_cast<uint16_t>((toggle ? kScancodeFlagToggle : 0) |
                             (!new_event ? kScancodeFlagRepeat : 0))});
  if (new_event && keypressed_) KeyUp(false);
  if (scancode <= UINT32_MAX) {
    InputEventIn(EV_MSC, MSC_SCAN, static_cast<int32_t>(scancode));
  }
  last_protocol_ = protocol;
  last_scancode_ = scancode;
  last_toggle_ = toggle;
  last_keycode_ = keycode;
  if (new_event && keycode != KEY_RESERVED) {
    keypressed_ = true;
    InputEventIn(EV_KEY, static_cast<uint16_t>(keycode), 1);
  }
  // (CEC's own repeats: a protocol this receiver does not decode.)
  InputEventIn(EV_SYN, SYN_REPORT, 0);
  if (keypressed_) {
    keyup_at_ = now_ms_ + timeout_us_ / 1000 + RepeatPeriod(protocol);
  }
}

// rc_repeat(): the last scancode again, flagged a repeat; a key down stays
// down longer.
void RcDevice::Repeat() {
  scancodes_.push_back(
      {last_scancode_, last_protocol_,
       keypressed_ ? last_keycode_ : static_cast<uint32_t>(KEY_RESERVED),
       static_cast<uint16_t>(kScancodeFlagRepeat |
                             (last_toggle_ ? kScancodeFlagToggle : 0))});
  if (last_scancode_ <= UINT32_MAX) {
    InputEventIn(EV_MSC, MSC_SCAN, static_cast<int32_t>(last_scancode_));
    InputEventIn(EV_SYN, SYN_REPORT, 0);
  }
  if (keypressed_) {
    keyup_at_ = now_ms_ + timeout_us_ / 1000 + RepeatPeriod(last_protocol_);
  }
}

void RcDevice::PointerRel(int32_t x, int32_t y) {
  InputEventIn(EV_REL, REL_X, x);
  InputEventIn(EV_REL, REL_Y, y);
  InputEventIn(EV_SYN, SYN_REPORT, 0);
}

void RcDevice::Raw(const Prog& prog, uint32_t sample) {
  RcDevice* const outer = running;
  running = this;
  uint32_t ctx = sample;  // raw->bpf_sample
  (void)ProgRun(prog, &ctx);
  running = outer;
}

// ir_timer_keyup() when the keyup time has come; input_repeat_key() every
// period while the key is down (its report's SYN_REPORT has value 1).
void RcDevice::Advance(uint32_t ms) {
  const uint64_t until = now_ms_ + ms;
  for (;;) {
    uint64_t next = UINT64_MAX;
    if (keypressed_) next = keyup_at_;
    if (repeating_) next = std::min(next, repeat_at_);
    if (next > until) break;
    now_ms_ = std::max(now_ms_, next);
    if (keypressed_ && keyup_at_ <= now_ms_) {
      KeyUp(true);
      continue;
    }
    if (repeating_ && repeat_at_ <= now_ms_) {
      if (key_down_[repeat_key_]) {
        InputEventIn(EV_KEY, repeat_key_, 2);
        InputEventIn(EV_SYN, SYN_REPORT, 1);
        repeat_at_ = now_ms_ + kRepPeriodMs;
      } else {
        repeating_ = false;
      }
    }
  }
  now_ms_ = until;
}

}  // namespace bpfemu::native

// The helpers: each reports through the receiver running the program and
// returns 0 (a program run outside a receiver reports nothing).
long bpfemu_rc_repeat(void* /*ctx*/) {
  if (bpfemu::native::running != nullptr) {
    bpfemu::native::running->Repeat();
  }
  return 0;
}

long bpfemu_rc_keydown(void* /*ctx*/, __u32 protocol, __u64 scancode,
                       __u32 toggle) {
  if (bpfemu::native::running != nullptr) {
    bpfemu::native::running->Keydown(protocol, scancode, toggle != 0);
  }
  return 0;
}

long bpfemu_rc_pointer_rel(void* /*ctx*/, __s32 rel_x, __s32 rel_y) {
  if (bpfemu::native::running != nullptr) {
    bpfemu::native::running->PointerRel(rel_x, rel_y);
  }
  return 0;
}
