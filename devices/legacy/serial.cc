#include "devices/legacy/serial.h"

#include <algorithm>
#include <string>

#include "base/check.h"

namespace ember {
namespace {

// Register offsets (PC16550D datasheet, "Register Summary").
constexpr uint64_t kRbrThr = 0;  // DLL when DLAB=1
constexpr uint64_t kIer = 1;     // DLM when DLAB=1
constexpr uint64_t kIirFcr = 2;
constexpr uint64_t kLcr = 3;
constexpr uint64_t kMcr = 4;
constexpr uint64_t kLsr = 5;
constexpr uint64_t kMsr = 6;
constexpr uint64_t kScr = 7;

// IER bits; active_interrupts() reuses them as the source mask.
constexpr uint8_t kIerRxData = 0x01;
constexpr uint8_t kIerThrEmpty = 0x02;
constexpr uint8_t kIerLineStatus = 0x04;
constexpr uint8_t kIerWritable = 0x0f;  // bit 3 (modem status) is kept but never fires

// IIR interrupt identification codes, highest priority first, and the FIFO-enabled bits.
constexpr uint8_t kIirLineStatus = 0x06;
constexpr uint8_t kIirRxData = 0x04;
constexpr uint8_t kIirThrEmpty = 0x02;
constexpr uint8_t kIirNone = 0x01;
constexpr uint8_t kIirFifosEnabled = 0xc0;

// FCR bits.
constexpr uint8_t kFcrEnableFifos = 0x01;
constexpr uint8_t kFcrClearRx = 0x02;

constexpr uint8_t kLcrDlab = 0x80;

// MCR bits and what loopback wires them to in MSR (datasheet, "Modem Control Register").
constexpr uint8_t kMcrDtr = 0x01;
constexpr uint8_t kMcrRts = 0x02;
constexpr uint8_t kMcrOut1 = 0x04;
constexpr uint8_t kMcrOut2 = 0x08;
constexpr uint8_t kMcrLoopback = 0x10;
constexpr uint8_t kMcrWritable = 0x1f;

constexpr uint8_t kMsrCts = 0x10;
constexpr uint8_t kMsrDsr = 0x20;
constexpr uint8_t kMsrRi = 0x40;
constexpr uint8_t kMsrDcd = 0x80;

// LSR bits. Transmission is immediate, so THR and the shift register always read empty.
constexpr uint8_t kLsrDataReady = 0x01;
constexpr uint8_t kLsrOverrun = 0x02;
constexpr uint8_t kLsrThrEmpty = 0x20;
constexpr uint8_t kLsrTransmitterEmpty = 0x40;

// Power-on values as firmware would leave the port: 9600 baud (divisor 12 of 1.8432 MHz/16),
// 8 data bits no parity 1 stop bit, OUT2 set.
constexpr uint8_t kDefaultDivisorLow = 12;
constexpr uint8_t kDefaultLcr = 0x03;
constexpr uint8_t kDefaultMcr = kMcrOut2;

}  // namespace

Serial::Serial(std::shared_ptr<IrqLine> irq, std::shared_ptr<OutputSink> output,
               std::function<void()> input_drained)
    : irq_(std::move(irq)),
      output_(std::move(output)),
      input_drained_(std::move(input_drained)),
      divisor_low_(kDefaultDivisorLow),
      divisor_high_(0),
      ier_(0),
      lcr_(kDefaultLcr),
      mcr_(kDefaultMcr),
      scr_(0),
      fifos_enabled_(false),
      overrun_(false),
      // The transmitter starts empty, but with THRI disabled nothing is pending yet.
      thr_empty_pending_(false) {
  CHECK_MSG(irq_ != nullptr, "serial needs an interrupt line");
  CHECK_MSG(output_ != nullptr, "serial needs an output sink");
}

void Serial::read(uint64_t offset, std::span<uint8_t> data) {
  if (data.empty()) return;
  std::fill(data.begin(), data.end(), uint8_t{0});
  if (data.size() != 1) counters_.add(&SerialCounters::missed_read_count);
  Effects fx;
  {
    std::lock_guard<std::mutex> guard(lock_);
    data[0] = read_register(offset, fx);
  }
  run_effects(fx);
}

void Serial::write(uint64_t offset, std::span<const uint8_t> data) {
  if (data.empty()) return;
  if (data.size() != 1) counters_.add(&SerialCounters::missed_write_count);
  Effects fx;
  {
    std::lock_guard<std::mutex> guard(lock_);
    const uint8_t before = active_interrupts();
    write_register(offset, data[0], fx);
    // Edge semantics: only a source that was not already pending and enabled raises the line.
    fx.trigger_irq = (active_interrupts() & ~before) != 0;
  }
  run_effects(fx);
}

size_t Serial::enqueue_input(std::span<const uint8_t> bytes) {
  Effects fx;
  size_t accepted = 0;
  {
    std::lock_guard<std::mutex> guard(lock_);
    // In loopback the receiver is wired to the transmitter, not to the outside world.
    if (loopback()) return 0;
    const uint8_t before = active_interrupts();
    accepted = std::min(bytes.size(), rx_fifo_.free_space());
    for (size_t i = 0; i < accepted; ++i) rx_fifo_.push(bytes[i]);
    fx.trigger_irq = (active_interrupts() & ~before) != 0;
  }
  run_effects(fx);
  return accepted;
}

size_t Serial::rx_free() const {
  std::lock_guard<std::mutex> guard(lock_);
  return rx_fifo_.free_space();
}

Serial::State Serial::save_state() const {
  std::lock_guard<std::mutex> guard(lock_);
  State s{};
  s.divisor_low = divisor_low_;
  s.divisor_high = divisor_high_;
  s.ier = ier_;
  s.lcr = lcr_;
  s.mcr = mcr_;
  s.scr = scr_;
  s.fifos_enabled = fifos_enabled_;
  s.overrun = overrun_;
  s.thr_empty_pending = thr_empty_pending_;
  s.rx_count = static_cast<uint8_t>(rx_fifo_.size());
  for (size_t i = 0; i < rx_fifo_.size(); ++i) s.rx_bytes[i] = rx_fifo_[i];
  return s;
}

Result<void> Serial::restore_state(const State& s) {
  if (s.rx_count > kRxFifoCapacity) {
    return make_error("serial state: RX FIFO holds " + std::to_string(s.rx_count) +
                      " bytes, more than its capacity of " + std::to_string(kRxFifoCapacity));
  }
  if ((s.ier & ~kIerWritable) != 0 || (s.mcr & ~kMcrWritable) != 0) {
    return make_error("serial state: IER or MCR has reserved bits set");
  }
  if (s.fifos_enabled > 1 || s.overrun > 1 || s.thr_empty_pending > 1) {
    return make_error("serial state: a flag holds a value other than 0 or 1");
  }
  std::lock_guard<std::mutex> guard(lock_);
  divisor_low_ = s.divisor_low;
  divisor_high_ = s.divisor_high;
  ier_ = s.ier;
  lcr_ = s.lcr;
  mcr_ = s.mcr;
  scr_ = s.scr;
  fifos_enabled_ = s.fifos_enabled != 0;
  overrun_ = s.overrun != 0;
  thr_empty_pending_ = s.thr_empty_pending != 0;
  rx_fifo_.assign(std::span<const uint8_t>(s.rx_bytes).first(s.rx_count));
  return {};
}

uint8_t Serial::read_register(uint64_t offset, Effects& fx) {
  switch (offset) {
    case kRbrThr: {
      if (dlab()) return divisor_low_;
      if (rx_fifo_.empty()) return 0;
      uint8_t byte = rx_fifo_.pop();
      counters_.add(&SerialCounters::read_count);
      fx.input_drained = rx_fifo_.empty();
      return byte;
    }
    case kIer:
      return dlab() ? divisor_high_ : ier_;
    case kIirFcr: {
      uint8_t iir = interrupt_identification();
      // Reading IIR acknowledges the THR-empty interrupt, but only when it is the one reported
      // (datasheet, "Interrupt Control Functions" table, reset condition of priority 3).
      if ((iir & 0x0f) == kIirThrEmpty) thr_empty_pending_ = false;
      return iir;
    }
    case kLcr:
      return lcr_;
    case kMcr:
      return mcr_;
    case kLsr: {
      uint8_t lsr = kLsrThrEmpty | kLsrTransmitterEmpty;
      if (!rx_fifo_.empty()) lsr |= kLsrDataReady;
      if (overrun_) lsr |= kLsrOverrun;
      overrun_ = false;  // error bits clear on read
      return lsr;
    }
    case kMsr:
      return modem_status();
    case kScr:
      return scr_;
    default:
      return 0;
  }
}

void Serial::write_register(uint64_t offset, uint8_t value, Effects& fx) {
  switch (offset) {
    case kRbrThr:
      if (dlab()) {
        divisor_low_ = value;
        return;
      }
      if (loopback()) {
        if (rx_fifo_.full()) {
          overrun_ = true;  // the byte is lost, as on the chip
        } else {
          rx_fifo_.push(value);
        }
      } else {
        fx.has_output = true;
        fx.output = value;
        counters_.add(&SerialCounters::write_count);
      }
      // The byte left THR at once, so THR is empty again: a fresh THR-empty interrupt.
      thr_empty_pending_ = true;
      return;
    case kIer: {
      if (dlab()) {
        divisor_high_ = value;
        return;
      }
      const uint8_t old_ier = ier_;
      ier_ = value & kIerWritable;
      // Enabling THRI while THR is empty (always, here) raises the THR-empty interrupt at once;
      // Linux's 8250 driver starts transmission and probes for UART bugs this way. Disabling it
      // drops the pending interrupt.
      if ((ier_ & kIerThrEmpty) != 0 && (old_ier & kIerThrEmpty) == 0) thr_empty_pending_ = true;
      if ((ier_ & kIerThrEmpty) == 0) thr_empty_pending_ = false;
      return;
    }
    case kIirFcr: {
      const bool enable = (value & kFcrEnableFifos) != 0;
      // Changing the FIFO enable bit resets the FIFOs (datasheet, FCR bit 0).
      const bool clear_rx = (value & kFcrClearRx) != 0 || enable != fifos_enabled_;
      fifos_enabled_ = enable;
      if (clear_rx && !rx_fifo_.empty()) {
        rx_fifo_.clear();
        fx.input_drained = true;
      }
      // Bits 1-2 clear the FIFOs (transmit is always empty); trigger-level bits 6-7 are not
      // modelled: the RX interrupt fires as soon as one byte is waiting.
      return;
    }
    case kLcr:
      lcr_ = value;
      return;
    case kMcr: {
      const bool was_loopback = loopback();
      mcr_ = value & kMcrWritable;
      // Leaving loopback reconnects the receiver: the VMM may offer input again.
      if (was_loopback && !loopback() && !rx_fifo_.full()) fx.input_drained = true;
      return;
    }
    case kScr:
      scr_ = value;
      return;
    default:
      // LSR and MSR are read-only; writes to them and beyond the eight registers are ignored.
      return;
  }
}

void Serial::run_effects(const Effects& fx) {
  if (fx.has_output) output_->write_bytes(std::span<const uint8_t>(&fx.output, 1));
  if (fx.trigger_irq) irq_->trigger();
  if (fx.input_drained && input_drained_) input_drained_();
}

uint8_t Serial::active_interrupts() const {
  uint8_t pending = 0;
  if (overrun_) pending |= kIerLineStatus;
  if (!rx_fifo_.empty()) pending |= kIerRxData;
  if (thr_empty_pending_) pending |= kIerThrEmpty;
  // OUT2 would gate the IRQ pin on a PC, but Linux's 8250 driver expects the interrupt
  // regardless, so it is not consulted here.
  return pending & ier_;
}

uint8_t Serial::interrupt_identification() const {
  const uint8_t active = active_interrupts();
  uint8_t id = kIirNone;
  if ((active & kIerLineStatus) != 0) {
    id = kIirLineStatus;
  } else if ((active & kIerRxData) != 0) {
    id = kIirRxData;
  } else if ((active & kIerThrEmpty) != 0) {
    id = kIirThrEmpty;
  }
  return fifos_enabled_ ? static_cast<uint8_t>(id | kIirFifosEnabled) : id;
}

uint8_t Serial::modem_status() const {
  if (!loopback()) {
    // No modem: report carrier, data set ready and clear to send so the guest never waits
    // for flow control.
    return kMsrDcd | kMsrDsr | kMsrCts;
  }
  // Loopback wires DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. Delta bits are not modelled.
  uint8_t msr = 0;
  if ((mcr_ & kMcrDtr) != 0) msr |= kMsrDsr;
  if ((mcr_ & kMcrRts) != 0) msr |= kMsrCts;
  if ((mcr_ & kMcrOut1) != 0) msr |= kMsrRi;
  if ((mcr_ & kMcrOut2) != 0) msr |= kMsrDcd;
  return msr;
}

bool Serial::loopback() const { return (mcr_ & kMcrLoopback) != 0; }

bool Serial::dlab() const { return (lcr_ & kLcrDlab) != 0; }

}  // namespace ember
