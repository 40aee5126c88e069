// SPDX-License-Identifier: Apache-2.0
// tests/examples/lirc_decoder.bpf.c on bpfemu's LIRC_MODE2 receiver
// (native/lirc_mode2.h), natively and as bytecode: raw IR samples in, the
// events an evdev reader and a LIRC_MODE_SCANCODE reader get out, each
// expectation read from drivers/media/rc/rc-main.c (rc_keydown,
// ir_do_keydown, rc_repeat, ir_do_keyup, the keyup timer: timeout 125 ms +
// NEC's repeat period 110 ms) and drivers/input/input.c (duplicate key
// states and zero relative moves dropped, empty reports dropped, the soft
// autorepeat with SYN_REPORT value 1 after rc_setup_rx_device's REP_DELAY
// 500 ms, then every REP_PERIOD 125 ms). No kernel
// bpfemu is compared with has a raw IR receiver (docs/helpers.md).

#include <linux/input-event-codes.h>
#include <linux/lirc.h>

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "emu/prog.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "native/lirc_mode2.h"

namespace bpfemu::examples {
namespace {

using native::InputEvent;
using native::LircScancode;
using native::RcDevice;

constexpr uint32_t kNec = 9;  // RC_PROTO_NEC
using Keymap = std::map<uint64_t, uint32_t>;

class LircModelTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    auto obj =
        GetParam()
            ? native::Object::OpenBytecode("tests/examples/lirc_decoder.bpf.o")
            : native::Object::Open("lirc_decoder");
    ASSERT_TRUE(obj.ok()) << obj.status();
    obj_ = std::move(*obj);
    ASSERT_EQ(obj_->Load(), 0);
    const native::Program* p = obj_->FindProgram("decode");
    ASSERT_NE(p, nullptr);
    ASSERT_EQ(ProgFromFd(p->fd(), &prog_), 0);
  }
  // A frame: header, 16 bits (MSB first), toggle in the top one.
  void Key(RcDevice& dev, uint32_t scancode, bool toggle = false) {
    dev.Raw(*prog_, LIRC_PULSE(9000));
    dev.Raw(*prog_, LIRC_SPACE(4500));
    const uint32_t bits = (toggle ? 0x8000u : 0) | (scancode & 0x7fff);
    for (int i = 15; i >= 0; --i) {
      dev.Raw(*prog_, LIRC_PULSE(560));
      dev.Raw(*prog_, LIRC_SPACE((bits >> i) & 1 ? 1690 : 560));
    }
  }
  void Repeat(RcDevice& dev) {
    dev.Raw(*prog_, LIRC_PULSE(9000));
    dev.Raw(*prog_, LIRC_SPACE(2250));
  }
  void Pointer(RcDevice& dev, uint32_t space) {
    dev.Raw(*prog_, LIRC_PULSE(3000));
    dev.Raw(*prog_, LIRC_SPACE(space));
  }

  std::unique_ptr<native::Object> obj_;
  std::shared_ptr<const Prog> prog_;
};

InputEvent Scan(int32_t v) { return {EV_MSC, MSC_SCAN, v}; }
InputEvent KeyEv(uint16_t k, int32_t v) { return {EV_KEY, k, v}; }
InputEvent Sync(int32_t v = 0) { return {EV_SYN, SYN_REPORT, v}; }

TEST_P(LircModelTest, KeydownThenKeyupAfterTheTimeout) {
  RcDevice dev(Keymap{{0x41, KEY_A}, {0x42, KEY_B}});
  Key(dev, 0x41);
  EXPECT_EQ(dev.events(),
            (std::vector<InputEvent>{Scan(0x41), KeyEv(KEY_A, 1), Sync()}));
  EXPECT_EQ(dev.scancodes(),
            (std::vector<LircScancode>{{0x41, kNec, KEY_A, 0}}));
  EXPECT_TRUE(dev.keypressed());
  dev.Advance(234);  // keyup at 125 + 110 ms, before the autorepeat
  EXPECT_TRUE(dev.keypressed());
  dev.Advance(1);
  EXPECT_FALSE(dev.keypressed());
  EXPECT_EQ(dev.events(),
            (std::vector<InputEvent>{Scan(0x41), KeyEv(KEY_A, 1), Sync(),
                                     KeyEv(KEY_A, 0), Sync()}));
}

TEST_P(LircModelTest, TheSameKeyAgainIsARepeatAnotherReleasesTheFirst) {
  RcDevice dev(Keymap{{0x41, KEY_A}, {0x42, KEY_B}});
  Key(dev, 0x41);
  Key(dev, 0x41);        // no new event: the scancode only, flagged a repeat
  Key(dev, 0x42);        // KEY_A released (unsynced) before KEY_B goes down
  Key(dev, 0x42, true);  // a toggle is a new press
  EXPECT_EQ(dev.events(),
            (std::vector<InputEvent>{
                Scan(0x41), KeyEv(KEY_A, 1), Sync(), Scan(0x41), Sync(),
                KeyEv(KEY_A, 0), Scan(0x42), KeyEv(KEY_B, 1), Sync(),
                // KEY_B up and down again in one report: both pass.
                KeyEv(KEY_B, 0), Scan(0x42), KeyEv(KEY_B, 1), Sync()}));
  EXPECT_EQ(dev.scancodes(),
            (std::vector<LircScancode>{
                {0x41, kNec, KEY_A, 0},
                {0x41, kNec, KEY_A, LIRC_SCANCODE_FLAG_REPEAT},
                {0x42, kNec, KEY_B, 0},
                {0x42, kNec, KEY_B, LIRC_SCANCODE_FLAG_TOGGLE}}));
}

TEST_P(LircModelTest, UnmappedScancodesReportOnlyTheScan) {
  RcDevice dev(Keymap{{0x41, KEY_A}});
  Key(dev, 0x41);
  Key(dev, 0x99);
  EXPECT_FALSE(dev.keypressed());
  EXPECT_EQ(dev.events(),
            (std::vector<InputEvent>{Scan(0x41), KeyEv(KEY_A, 1), Sync(),
                                     KeyEv(KEY_A, 0), Scan(0x99), Sync()}));
  EXPECT_EQ(dev.scancodes().back(),
            (LircScancode{0x99, kNec, KEY_RESERVED, 0}));
}

TEST_P(LircModelTest, RepeatKeepsTheKeyDownAndTheInputAutorepeats) {
  RcDevice dev(Keymap{{0x41, KEY_A}});
  Key(dev, 0x41);
  // NEC repeats every 110 ms hold the key down (keyup 235 ms after the
  // last one); the input layer repeats the key from REP_DELAY (500 ms) on,
  // every REP_PERIOD (125 ms): 500, 625, 750, 875, 1000.
  std::vector<InputEvent> want = {Scan(0x41), KeyEv(KEY_A, 1), Sync()};
  int autorepeat = 500;
  for (int t = 110; t <= 770; t += 110) {
    dev.Advance(110);
    Repeat(dev);
    for (; autorepeat < t; autorepeat += 125) {
      want.push_back(KeyEv(KEY_A, 2));
      want.push_back(Sync(1));
    }
    want.push_back(Scan(0x41));
    want.push_back(Sync());
  }
  dev.Advance(234);  // 1004: the autorepeats at 875 and 1000, still down
  EXPECT_TRUE(dev.keypressed());
  for (; autorepeat <= 1004; autorepeat += 125) {
    want.push_back(KeyEv(KEY_A, 2));
    want.push_back(Sync(1));
  }
  EXPECT_EQ(autorepeat, 1125);
  EXPECT_EQ(dev.events(), want);
  dev.Advance(1);  // keyup at 770 + 235
  EXPECT_FALSE(dev.keypressed());
  want.push_back(KeyEv(KEY_A, 0));
  want.push_back(Sync());
  dev.Advance(500);  // released: no more repeats
  EXPECT_EQ(dev.events(), want);
  EXPECT_EQ(dev.scancodes().back(),
            (LircScancode{0x41, kNec, KEY_A, LIRC_SCANCODE_FLAG_REPEAT}));
  // A repeat with no key down: the scancode, no key.
  Repeat(dev);
  EXPECT_EQ(dev.scancodes().back(), (LircScancode{0x41, kNec, KEY_RESERVED,
                                                  LIRC_SCANCODE_FLAG_REPEAT}));
  EXPECT_FALSE(dev.keypressed());
}

TEST_P(LircModelTest, PointerMovesSkipZeroAxes) {
  RcDevice dev(Keymap{});
  Pointer(dev, 2500);  // (5, -5)
  Pointer(dev, 2000);  // (0, 0): nothing to report
  Pointer(dev, 2300);  // (3, -3)
  EXPECT_EQ(dev.events(), (std::vector<InputEvent>{{EV_REL, REL_X, 5},
                                                   {EV_REL, REL_Y, -5},
                                                   Sync(),
                                                   {EV_REL, REL_X, 3},
                                                   {EV_REL, REL_Y, -3},
                                                   Sync()}));
  EXPECT_TRUE(dev.scancodes().empty());
}

INSTANTIATE_TEST_SUITE_P(Faces, LircModelTest, ::testing::Bool(),
                         [](const auto& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
