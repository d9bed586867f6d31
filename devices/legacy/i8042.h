// Just enough of an i8042 PS/2 keyboard controller for Linux (booted with i8042.noaux
// i8042.nomux i8042.dumbkbd) to find a keyboard, to reboot through it, and for the VMM to
// send Ctrl+Alt+Del.
//
// The device covers five ports from 0x60: offset 0 is the data port (0x60), offset 4 the
// status (read) / command (write) port (0x64). Offsets 1-3 read 0 (port 0x61 belongs to the
// in-kernel PIT's speaker logic anyway). Command set per the IBM PS/2 Hardware Technical
// Reference, "Keyboard/Auxiliary Device Controller".
//
// Threads: vCPU threads reach read()/write() through the bus; the VMM thread calls
// trigger_ctrl_alt_del(). Every entry point takes the device's own mutex; the interrupt line
// and the reset callback run after it is released, so the two cannot deadlock.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>

#include "devices/bus_device.h"
#include "devices/legacy/legacy_counters.h"
#include "devices/virtio/atomic_counters.h"
#include "base/result.h"
#include "base/ring_buffer.h"

namespace ember {

class I8042 final : public BusDevice {
 public:
  static constexpr uint64_t kDataOffset = 0;
  static constexpr uint64_t kStatusCommandOffset = 4;
  static constexpr uint64_t kPortCount = 5;
  static constexpr size_t kOutputCapacity = 16;

  // Plain snapshot of the guest-visible state (trivially copyable; no bool fields so that
  // bytes read from a file cannot form an invalid value).
  struct State {
    uint8_t control;           // the controller's command byte (CTR)
    uint8_t mode;              // controller mode (commands 0xCA/0xCB)
    uint8_t output_port;       // last value written with 0xD1
    uint8_t last_was_command;  // status bit 3: 1 when the last write went to port 0x64
    uint8_t pending_command;   // controller command waiting for its data byte; 0 if none
    uint8_t output_count;      // bytes of output_bytes waiting for the guest, oldest first
    std::array<uint8_t, kOutputCapacity> output_bytes;
  };

  // `reset` runs (without the device lock held) when the guest pulses the CPU reset line.
  I8042(std::shared_ptr<IrqLine> irq, std::function<void()> reset);

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  // Queues the set-1 make codes of Ctrl, Alt and Delete (VMM thread), which Linux's keyboard
  // driver turns into ctrl_alt_del() and a reboot. Queues nothing and fails when the output
  // buffer has no room for all four bytes.
  [[nodiscard]] Result<void> trigger_ctrl_alt_del();

  // Totals since the device was created, for metrics; any thread.
  [[nodiscard]] I8042Counters counters() const { return counters_.snapshot(); }
  [[nodiscard]] State save_state() const;
  [[nodiscard]] Result<void> restore_state(const State& state);

 private:
  struct Effects {
    bool trigger_irq = false;
    bool reset = false;
  };

  [[nodiscard]] uint8_t read_data(Effects& fx);
  [[nodiscard]] uint8_t status() const;
  void write_command(uint8_t command, Effects& fx);
  void write_data(uint8_t value, Effects& fx);
  void keyboard_command(uint8_t command);
  void run_effects(const Effects& fx);

  // Output buffer towards the guest. Bytes that do not fit are dropped: the guest is not
  // reading them anyway.
  void push(uint8_t byte);
  [[nodiscard]] bool interrupts_enabled() const;

  const std::shared_ptr<IrqLine> irq_;
  const std::function<void()> reset_;

  mutable std::mutex lock_;
  uint8_t control_;
  uint8_t mode_;
  uint8_t output_port_;
  bool last_was_command_ = false;
  uint8_t pending_command_ = 0;
  RingBuffer<uint8_t, kOutputCapacity> output_;
  AtomicCounters<I8042Counters> counters_;
};

}  // namespace ember
