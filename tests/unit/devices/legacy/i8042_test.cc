#include "devices/legacy/i8042.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>

#include "tests/unit/devices/legacy/legacy_fakes.h"

namespace ember {
namespace {

using testing::CountingIrqLine;
using testing::read_byte;
using testing::write_byte;

constexpr uint64_t kData = 0, kCmd = 4;
constexpr uint8_t kStatusObf = 0x01, kStatusSys = 0x04, kStatusCmd = 0x08, kStatusUnlocked = 0x10;

class I8042Test : public ::testing::Test {
 protected:
  std::shared_ptr<CountingIrqLine> irq_ = std::make_shared<CountingIrqLine>();
  int resets_ = 0;
  I8042 kbd_{irq_, [this] { ++resets_; }};

  uint8_t status() { return read_byte(kbd_, kCmd); }
  void command(uint8_t c) { write_byte(kbd_, kCmd, c); }
  void data(uint8_t d) { write_byte(kbd_, kData, d); }
  // Everything the guest would read, polling OBF the way Linux's i8042 driver does.
  std::vector<uint8_t> drain() {
    std::vector<uint8_t> out;
    while (status() & kStatusObf) out.push_back(read_byte(kbd_, kData));
    return out;
  }
};

TEST_F(I8042Test, InitialStatus) {
  const uint8_t s = status();
  EXPECT_EQ(s & kStatusObf, 0);
  EXPECT_EQ(s & kStatusSys, kStatusSys);
  EXPECT_EQ(s & kStatusUnlocked, kStatusUnlocked);  // no "keylock active" warning
  EXPECT_EQ(read_byte(kbd_, kData), 0);  // nothing waiting
}

TEST_F(I8042Test, PulseResetCallsResetOnce) {
  command(0xfe);
  EXPECT_EQ(resets_, 1);
  command(0xff);  // pulses no line
  EXPECT_EQ(resets_, 1);
  command(0xfe);
  EXPECT_EQ(resets_, 2);
}

TEST(I8042ReentryTest, ResetCallbackRunsWithoutTheDeviceLock) {
  auto irq = std::make_shared<CountingIrqLine>();
  I8042* self = nullptr;
  int resets = 0;
  // A VMM could inspect or poke the device from its reset path; that must not deadlock.
  I8042 kbd(irq, [&] {
    ++resets;
    (void)self->save_state();
    EXPECT_TRUE(self->trigger_ctrl_alt_del().ok());
  });
  self = &kbd;
  write_byte(kbd, kCmd, 0xfe);
  EXPECT_EQ(resets, 1);
  EXPECT_EQ(kbd.save_state().output_count, 4);
}

TEST_F(I8042Test, WriteOutputPortWithResetClearResets) {
  command(0xd1);
  data(0x03);  // reset line high: keep running
  EXPECT_EQ(resets_, 0);
  command(0xd0);
  EXPECT_EQ(drain(), (std::vector<uint8_t>{0x03}));
  command(0xd1);
  data(0x02);
  EXPECT_EQ(resets_, 1);
  // The data byte was consumed by the command, not sent to the keyboard.
  EXPECT_TRUE(drain().empty());
}

TEST_F(I8042Test, SelfTestsAnswer) {
  command(0xaa);
  EXPECT_EQ(status() & kStatusObf, kStatusObf);
  EXPECT_EQ(drain(), (std::vector<uint8_t>{0x55}));
  command(0xab);
  EXPECT_EQ(drain(), (std::vector<uint8_t>{0x00}));
}

TEST_F(I8042Test, ControlByteRoundTrip) {
  command(0x20);
  const std::vector<uint8_t> initial = drain();
  ASSERT_EQ(initial.size(), 1u);
  EXPECT_EQ(initial[0] & 0x40, 0x40);  // translation on, so Linux expects set-1 codes

  command(0x60);
  EXPECT_EQ(status() & kStatusCmd, kStatusCmd);
  data(0x65);
  EXPECT_EQ(status() & kStatusCmd, 0);
  command(0x20);
  EXPECT_EQ(drain(), (std::vector<uint8_t>{0x65}));

  // Disable / enable keyboard flip the control byte's bit 4.
  command(0xad);
  command(0x20);
  EXPECT_EQ(drain(), (std::vector<uint8_t>{0x75}));
  command(0xae);
  command(0x20);
  EXPECT_EQ(drain(), (std::vector<uint8_t>{0x65}));

  // The status register's system flag follows the control byte.
  command(0x60);
  data(0x00);
  EXPECT_EQ(status() & kStatusSys, 0);
  // Aux commands are accepted and ignored.
  command(0xa7);
  command(0xa8);
  EXPECT_TRUE(drain().empty());
}

TEST_F(I8042Test, ControllerModeRoundTrip) {
  command(0xcb);
  data(0x5a);
  command(0xca);
  EXPECT_EQ(drain(), (std::vector<uint8_t>{0x5a}));
}

TEST_F(I8042Test, KeyboardCommandsAreAcknowledged) {
  data(0xed);  // set LEDs
  EXPECT_EQ(drain(), (std::vector<uint8_t>{0xfa}));
  data(0x07);  // its parameter
  EXPECT_EQ(drain(), (std::vector<uint8_t>{0xfa}));
  data(0xff);  // reset
  EXPECT_EQ(drain(), (std::vector<uint8_t>{0xfa, 0xaa}));
  data(0xf2);  // identify
  EXPECT_EQ(drain(), (std::vector<uint8_t>{0xfa, 0xab, 0x83}));
  data(0xee);  // echo
  EXPECT_EQ(drain(), (std::vector<uint8_t>{0xee}));
  EXPECT_EQ(resets_, 0);
}

TEST_F(I8042Test, InterruptWhenAByteBecomesAvailable) {
  // The initial control byte enables the keyboard interrupt.
  data(0xff);
  EXPECT_EQ(irq_->take(), 1);
  EXPECT_EQ(read_byte(kbd_, kData), 0xfa);
  EXPECT_EQ(irq_->take(), 1);  // the next byte moved into the output register
  EXPECT_EQ(read_byte(kbd_, kData), 0xaa);
  EXPECT_EQ(irq_->take(), 0);
  // Reading the status does not raise anything.
  (void)status();
  EXPECT_EQ(irq_->take(), 0);

  // Interrupt disabled: bytes arrive silently; enabling it with one waiting raises it.
  command(0x60);
  data(0x44);
  EXPECT_EQ(irq_->take(), 0);
  command(0xaa);
  EXPECT_EQ(irq_->take(), 0);
  EXPECT_EQ(status() & kStatusObf, kStatusObf);
  command(0x60);
  data(0x45);
  EXPECT_EQ(irq_->take(), 1);
  EXPECT_EQ(drain(), (std::vector<uint8_t>{0x55}));
}

TEST_F(I8042Test, CtrlAltDelQueuesSetOneScancodesAndInterrupts) {
  ASSERT_TRUE(kbd_.trigger_ctrl_alt_del().ok());
  EXPECT_EQ(irq_->take(), 1);
  std::vector<uint8_t> got;
  int irqs = 0;
  while (status() & kStatusObf) {
    got.push_back(read_byte(kbd_, kData));
    irqs += irq_->take();
  }
  EXPECT_EQ(got, (std::vector<uint8_t>{0x1d, 0x38, 0xe0, 0x53}));
  EXPECT_EQ(irqs, 3);  // one per byte after the first, as Linux reads one byte per interrupt
}

TEST_F(I8042Test, CtrlAltDelUsesSetTwoWhenTranslationIsOff) {
  command(0x60);
  data(0x05);  // interrupt + system flag, no translation
  ASSERT_TRUE(kbd_.trigger_ctrl_alt_del().ok());
  EXPECT_EQ(drain(), (std::vector<uint8_t>{0x14, 0x11, 0xe0, 0x71}));
}

TEST_F(I8042Test, CtrlAltDelFailsWhenTheBufferIsFull) {
  int queued = 0;
  while (kbd_.trigger_ctrl_alt_del().ok()) ++queued;
  EXPECT_EQ(queued, static_cast<int>(I8042::kOutputCapacity / 4));
  // Nothing partial was queued by the failed call.
  EXPECT_EQ(drain().size(), I8042::kOutputCapacity);
  // Keyboard replies that do not fit are dropped, not crashed on.
  for (size_t i = 0; i < 2 * I8042::kOutputCapacity; ++i) data(0xf4);
  EXPECT_EQ(drain().size(), I8042::kOutputCapacity);
}

TEST_F(I8042Test, StateRoundTrip) {
  command(0x60);
  data(0x61);
  command(0xcb);
  data(0x00);
  data(0xf2);
  (void)read_byte(kbd_, kData);  // leaves 0xab 0x83
  command(0xd1);                 // pending: the next data byte is the output port

  const I8042::State saved = kbd_.save_state();
  static_assert(std::is_trivially_copyable_v<I8042::State>);
  auto irq2 = std::make_shared<CountingIrqLine>();
  int resets2 = 0;
  I8042 copy(irq2, [&] { ++resets2; });
  ASSERT_TRUE(copy.restore_state(saved).ok());
  const I8042::State again = copy.save_state();
  EXPECT_EQ(std::memcmp(&saved, &again, sizeof saved), 0);

  EXPECT_EQ(read_byte(copy, kCmd) & (kStatusObf | kStatusCmd), kStatusObf | kStatusCmd);
  EXPECT_EQ(read_byte(copy, kData), 0xab);
  EXPECT_EQ(read_byte(copy, kData), 0x83);
  write_byte(copy, kData, 0x00);  // completes the pending 0xD1: reset
  EXPECT_EQ(resets2, 1);
  write_byte(copy, kCmd, 0x20);
  EXPECT_EQ(read_byte(copy, kData), 0x61);
  write_byte(copy, kCmd, 0xca);
  EXPECT_EQ(read_byte(copy, kData), 0x00);
}

TEST_F(I8042Test, RestoreRejectsImpossibleState) {
  I8042::State s = kbd_.save_state();
  s.output_count = I8042::kOutputCapacity + 1;
  EXPECT_FALSE(kbd_.restore_state(s).ok());
  s = kbd_.save_state();
  s.pending_command = 0x20;  // takes no data byte
  EXPECT_FALSE(kbd_.restore_state(s).ok());
  s = kbd_.save_state();
  s.last_was_command = 2;
  EXPECT_FALSE(kbd_.restore_state(s).ok());
}

TEST_F(I8042Test, WideAndOddAccessesAreSane) {
  std::array<uint8_t, 2> w2 = {0xaa, 0xff};
  kbd_.write(kCmd, w2);  // only the first byte counts: self-test, not a pulse
  EXPECT_EQ(resets_, 0);
  std::array<uint8_t, 4> r4;
  r4.fill(0xee);
  kbd_.read(kData, r4);
  EXPECT_EQ(r4, (std::array<uint8_t, 4>{0x55, 0, 0, 0}));
  // Offsets 1-3 and beyond read 0 and ignore writes.
  for (uint64_t off : {uint64_t{1}, uint64_t{2}, uint64_t{3}, uint64_t{5}, ~uint64_t{0}}) {
    EXPECT_EQ(read_byte(kbd_, off), 0);
    write_byte(kbd_, off, 0xfe);
  }
  EXPECT_EQ(resets_, 0);
  kbd_.write(kCmd, std::span<const uint8_t>());
  kbd_.read(kCmd, std::span<uint8_t>());
  EXPECT_TRUE(drain().empty());
}

}  // namespace
}  // namespace ember
