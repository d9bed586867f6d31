// A 16550A UART as seen by the guest's 8250 driver: eight byte-wide registers, a bounded
// receive FIFO fed by the VMM, and transmission that completes at once into an OutputSink.
//
// Register map (offset from the port base; DLAB is LCR bit 7), per the TI/NS PC16550D
// datasheet, table "Register Summary":
//   0 RBR (read) / THR (write), or DLL when DLAB=1
//   1 IER, or DLM when DLAB=1
//   2 IIR (read) / FCR (write)
//   3 LCR   4 MCR   5 LSR   6 MSR   7 SCR
//
// Threads: vCPU threads reach read()/write() through the bus; the VMM thread calls
// enqueue_input(). Every entry point takes the device's own mutex, and nothing that could
// call back into the VMM (output sink, interrupt line, callbacks) runs while it is held, so
// the bus lock and this mutex are always taken in the same order and cannot deadlock.
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
#include "devices/legacy/output_sink.h"
#include "base/result.h"
#include "base/ring_buffer.h"

namespace ember {

class Serial final : public BusDevice {
 public:
  // Size of the receive FIFO: the 16550A has 16 bytes; a larger buffer absorbs pasted input
  // between guest interrupts.
  static constexpr size_t kRxFifoCapacity = 64;
  static constexpr uint64_t kRegisterCount = 8;

  // Plain snapshot of the guest-visible state. Trivially copyable; flags are bytes holding
  // 0 or 1 (not bool) so a snapshot read from a file can never hold an invalid bool.
  struct State {
    uint8_t divisor_low;
    uint8_t divisor_high;
    uint8_t ier;
    uint8_t lcr;
    uint8_t mcr;
    uint8_t scr;
    uint8_t fifos_enabled;
    uint8_t overrun;             // LSR bit 1, until the guest reads LSR
    uint8_t thr_empty_pending;   // the THR-empty interrupt has not been acknowledged yet
    uint8_t rx_count;         // bytes of rx_bytes in use, oldest first
    std::array<uint8_t, kRxFifoCapacity> rx_bytes;
  };

  // `input_drained` (optional) runs, without the device lock held, whenever the RX FIFO
  // becomes empty again, so a VMM that got a short count from enqueue_input() knows when
  // to retry.
  Serial(std::shared_ptr<IrqLine> irq, std::shared_ptr<OutputSink> output,
         std::function<void()> input_drained = {});

  // BusDevice: only the first byte of an access is meaningful (the UART registers are one
  // byte wide); wider reads return the register in data[0] and zero in the rest.
  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  // Queues input for the guest (VMM thread). Returns how many bytes were accepted: fewer than
  // offered when the FIFO is full, and none while the guest has the UART in loopback mode.
  size_t enqueue_input(std::span<const uint8_t> bytes);
  // Free room in the receive FIFO right now.
  [[nodiscard]] size_t rx_free() const;

  // Totals since the device was created, for metrics; any thread.
  [[nodiscard]] SerialCounters counters() const { return counters_.snapshot(); }
  [[nodiscard]] State save_state() const;
  // Fails, leaving the device unchanged, when the state is not one this device can hold.
  [[nodiscard]] Result<void> restore_state(const State& state);

 private:
  // What an access decided to do once the lock is dropped.
  struct Effects {
    bool trigger_irq = false;
    bool input_drained = false;
    bool has_output = false;
    uint8_t output = 0;
  };

  uint8_t read_register(uint64_t offset, Effects& fx);
  void write_register(uint64_t offset, uint8_t value, Effects& fx);
  void run_effects(const Effects& fx);

  // Bitmask of interrupt sources that are both pending and enabled in IER (one bit per
  // IER bit). An edge is sent when an access adds a bit to it.
  [[nodiscard]] uint8_t active_interrupts() const;
  [[nodiscard]] uint8_t interrupt_identification() const;
  [[nodiscard]] uint8_t modem_status() const;
  [[nodiscard]] bool loopback() const;
  [[nodiscard]] bool dlab() const;

  const std::shared_ptr<IrqLine> irq_;
  const std::shared_ptr<OutputSink> output_;
  const std::function<void()> input_drained_;

  mutable std::mutex lock_;
  uint8_t divisor_low_;
  uint8_t divisor_high_;
  uint8_t ier_;
  uint8_t lcr_;
  uint8_t mcr_;
  uint8_t scr_;
  bool fifos_enabled_;
  bool overrun_;
  bool thr_empty_pending_;
  RingBuffer<uint8_t, kRxFifoCapacity> rx_fifo_;
  AtomicCounters<SerialCounters> counters_;
};

}  // namespace ember
