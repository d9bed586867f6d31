#include "devices/legacy/i8042.h"

#include <algorithm>
#include <string>

#include "base/check.h"
#include "base/log.h"

namespace ember {
namespace {

// Status register bits (port 0x64, read).
constexpr uint8_t kStatusOutputFull = 0x01;
constexpr uint8_t kStatusSystemFlag = 0x04;
constexpr uint8_t kStatusLastWasCommand = 0x08;
// Bit 4 is 1 when the keyboard is NOT inhibited by the keylock; Linux warns otherwise.
constexpr uint8_t kStatusNotInhibited = 0x10;

// Controller command byte (CTR) bits.
constexpr uint8_t kCtrKeyboardInterrupt = 0x01;
constexpr uint8_t kCtrSystemFlag = 0x04;
constexpr uint8_t kCtrKeyboardDisabled = 0x10;
constexpr uint8_t kCtrTranslate = 0x40;
// As firmware leaves it: keyboard interrupt on, POST passed, set 2 -> set 1 translation on.
// Linux keeps translation only if it finds it on, and with it expects set-1 codes.
constexpr uint8_t kInitialControl = kCtrKeyboardInterrupt | kCtrSystemFlag | kCtrTranslate;

// Controller mode byte: bit 0 set means PS/2 mode.
constexpr uint8_t kInitialMode = 0x01;
// Output port: bit 0 is the CPU reset line (0 = hold in reset), bit 1 the A20 gate.
constexpr uint8_t kOutputPortReset = 0x01;
constexpr uint8_t kInitialOutputPort = 0x03;

// Controller commands (port 0x64, write).
constexpr uint8_t kCmdReadControl = 0x20;
constexpr uint8_t kCmdWriteControl = 0x60;
constexpr uint8_t kCmdDisableAux = 0xa7;
constexpr uint8_t kCmdEnableAux = 0xa8;
constexpr uint8_t kCmdSelfTest = 0xaa;
constexpr uint8_t kCmdInterfaceTest = 0xab;
constexpr uint8_t kCmdDisableKeyboard = 0xad;
constexpr uint8_t kCmdEnableKeyboard = 0xae;
constexpr uint8_t kCmdReadMode = 0xca;
constexpr uint8_t kCmdWriteMode = 0xcb;
constexpr uint8_t kCmdReadOutputPort = 0xd0;
constexpr uint8_t kCmdWriteOutputPort = 0xd1;
// 0xF0-0xFF pulse the output-port lines whose bit is 0 in the low nibble; bit 0 is reset.
constexpr uint8_t kCmdPulseFirst = 0xf0;

constexpr uint8_t kSelfTestPassed = 0x55;
constexpr uint8_t kInterfaceTestPassed = 0x00;

// Keyboard commands and replies (data port, no controller command pending).
constexpr uint8_t kKbdEcho = 0xee;
constexpr uint8_t kKbdIdentify = 0xf2;
constexpr uint8_t kKbdReset = 0xff;
constexpr uint8_t kKbdAck = 0xfa;
constexpr uint8_t kKbdSelfTestPassed = 0xaa;
// MF2 keyboard identification bytes.
constexpr uint8_t kKbdId1 = 0xab;
constexpr uint8_t kKbdId2 = 0x83;

// Make codes for Ctrl, Alt and Delete. Scan code set 1 is what the guest sees when the
// controller translates; set 2 when the guest turned translation off.
constexpr std::array<uint8_t, 4> kCtrlAltDelSet1 = {0x1d, 0x38, 0xe0, 0x53};
constexpr std::array<uint8_t, 4> kCtrlAltDelSet2 = {0x14, 0x11, 0xe0, 0x71};

bool takes_data_byte(uint8_t command) {
  return command == kCmdWriteControl || command == kCmdWriteMode ||
         command == kCmdWriteOutputPort;
}

}  // namespace

I8042::I8042(std::shared_ptr<IrqLine> irq, std::function<void()> reset)
    : irq_(std::move(irq)),
      reset_(std::move(reset)),
      control_(kInitialControl),
      mode_(kInitialMode),
      output_port_(kInitialOutputPort) {
  CHECK_MSG(irq_ != nullptr, "i8042 needs an interrupt line");
}

void I8042::read(uint64_t offset, std::span<uint8_t> data) {
  if (data.empty()) return;
  std::fill(data.begin(), data.end(), uint8_t{0});
  Effects fx;
  {
    std::lock_guard<std::mutex> guard(lock_);
    if (offset == kDataOffset) {
      data[0] = read_data(fx);
    } else if (offset == kStatusCommandOffset) {
      data[0] = status();
    }
  }
  // Firecracker counts the byte-wide reads of its two ports and misses for the rest.
  const bool known = data.size() == 1 && (offset == kDataOffset || offset == kStatusCommandOffset);
  counters_.add(known ? &I8042Counters::read_count : &I8042Counters::missed_read_count);
  run_effects(fx);
}

void I8042::write(uint64_t offset, std::span<const uint8_t> data) {
  if (data.empty()) return;
  const bool known = data.size() == 1 && (offset == kDataOffset || offset == kStatusCommandOffset);
  counters_.add(known ? &I8042Counters::write_count : &I8042Counters::missed_write_count);
  Effects fx;
  {
    std::lock_guard<std::mutex> guard(lock_);
    const bool raised_before = !output_.empty() && interrupts_enabled();
    if (offset == kDataOffset) {
      write_data(data[0], fx);
    } else if (offset == kStatusCommandOffset) {
      write_command(data[0], fx);
    } else {
      return;
    }
    // A byte reached the output register, or the guest enabled the interrupt while one waits.
    fx.trigger_irq = !raised_before && !output_.empty() && interrupts_enabled();
  }
  run_effects(fx);
}

Result<void> I8042::trigger_ctrl_alt_del() {
  Effects fx;
  {
    std::lock_guard<std::mutex> guard(lock_);
    const auto& codes = (control_ & kCtrTranslate) != 0 ? kCtrlAltDelSet1 : kCtrlAltDelSet2;
    if (output_.free_space() < codes.size()) {
      return make_error("i8042: output buffer full, the guest is not reading the keyboard");
    }
    const bool was_empty = output_.empty();
    for (uint8_t code : codes) push(code);
    // If bytes were already waiting, the guest gets an interrupt as it reads each one.
    fx.trigger_irq = was_empty && interrupts_enabled();
  }
  run_effects(fx);
  return {};
}

I8042::State I8042::save_state() const {
  std::lock_guard<std::mutex> guard(lock_);
  State s{};
  s.control = control_;
  s.mode = mode_;
  s.output_port = output_port_;
  s.last_was_command = last_was_command_ ? 1 : 0;
  s.pending_command = pending_command_;
  s.output_count = static_cast<uint8_t>(output_.size());
  for (size_t i = 0; i < output_.size(); ++i) s.output_bytes[i] = output_[i];
  return s;
}

Result<void> I8042::restore_state(const State& s) {
  if (s.output_count > kOutputCapacity) {
    return make_error("i8042 state: output buffer holds " + std::to_string(s.output_count) +
                      " bytes, more than its capacity of " + std::to_string(kOutputCapacity));
  }
  if (s.pending_command != 0 && !takes_data_byte(s.pending_command)) {
    return make_error("i8042 state: pending command " + std::to_string(s.pending_command) +
                      " does not take a data byte");
  }
  if (s.last_was_command > 1) {
    return make_error("i8042 state: last_was_command is neither 0 nor 1");
  }
  std::lock_guard<std::mutex> guard(lock_);
  control_ = s.control;
  mode_ = s.mode;
  output_port_ = s.output_port;
  last_was_command_ = s.last_was_command != 0;
  pending_command_ = s.pending_command;
  output_.assign(std::span<const uint8_t>(s.output_bytes).first(s.output_count));
  return {};
}

uint8_t I8042::read_data(Effects& fx) {
  if (output_.empty()) return 0;
  uint8_t byte = output_.pop();
  // Linux reads one byte per interrupt: the next byte moving into the output register is a
  // new interrupt.
  fx.trigger_irq = !output_.empty() && interrupts_enabled();
  return byte;
}

uint8_t I8042::status() const {
  uint8_t s = kStatusNotInhibited;
  if (!output_.empty()) s |= kStatusOutputFull;
  if ((control_ & kCtrSystemFlag) != 0) s |= kStatusSystemFlag;
  if (last_was_command_) s |= kStatusLastWasCommand;
  return s;
}

void I8042::write_command(uint8_t command, Effects& fx) {
  last_was_command_ = true;
  // A new command abandons one still waiting for its data byte.
  pending_command_ = 0;
  switch (command) {
    case kCmdReadControl:
      push(control_);
      return;
    case kCmdWriteControl:
    case kCmdWriteMode:
    case kCmdWriteOutputPort:
      pending_command_ = command;
      return;
    case kCmdDisableAux:
    case kCmdEnableAux:
      return;  // there is no auxiliary (mouse) device
    case kCmdSelfTest:
      control_ |= kCtrSystemFlag;  // a passed self-test sets the system flag
      push(kSelfTestPassed);
      return;
    case kCmdInterfaceTest:
      push(kInterfaceTestPassed);
      return;
    case kCmdDisableKeyboard:
      control_ |= kCtrKeyboardDisabled;
      return;
    case kCmdEnableKeyboard:
      control_ &= static_cast<uint8_t>(~kCtrKeyboardDisabled);
      return;
    case kCmdReadMode:
      push(mode_);
      return;
    case kCmdReadOutputPort:
      push(output_port_);
      return;
    default:
      break;
  }
  if (command >= kCmdPulseFirst) {
    if ((command & kOutputPortReset) == 0) fx.reset = true;
    return;
  }
  log_debug("i8042: ignoring controller command " + std::to_string(command));
}

void I8042::write_data(uint8_t value, Effects& fx) {
  last_was_command_ = false;
  const uint8_t command = pending_command_;
  pending_command_ = 0;
  switch (command) {
    case kCmdWriteControl:
      control_ = value;
      return;
    case kCmdWriteMode:
      mode_ = value;
      return;
    case kCmdWriteOutputPort:
      output_port_ = value;
      if ((value & kOutputPortReset) == 0) fx.reset = true;
      return;
    default:
      keyboard_command(value);
      return;
  }
}

void I8042::keyboard_command(uint8_t command) {
  // There is no keyboard behind the controller: answer like one so the guest's driver does
  // not time out. Parameter bytes (LED state, typematic rate, ...) are simply acknowledged.
  switch (command) {
    case kKbdReset:
      push(kKbdAck);
      push(kKbdSelfTestPassed);
      return;
    case kKbdIdentify:
      push(kKbdAck);
      push(kKbdId1);
      push(kKbdId2);
      return;
    case kKbdEcho:
      push(kKbdEcho);
      return;
    default:
      push(kKbdAck);
      return;
  }
}

void I8042::run_effects(const Effects& fx) {
  if (fx.trigger_irq) irq_->trigger();
  if (fx.reset) counters_.add(&I8042Counters::reset_count);
  if (fx.reset && reset_) reset_();
}

void I8042::push(uint8_t byte) {
  if (output_.full()) {
    log_debug("i8042: output buffer full, dropping a byte");
    return;
  }
  output_.push(byte);
}

bool I8042::interrupts_enabled() const { return (control_ & kCtrKeyboardInterrupt) != 0; }

}  // namespace ember
