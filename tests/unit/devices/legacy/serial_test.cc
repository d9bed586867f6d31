#include "devices/legacy/serial.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>

#include "devices/legacy/output_sink.h"
#include "tests/unit/devices/legacy/legacy_fakes.h"

namespace ember {
namespace {

using testing::CapturingSink;
using testing::CountingIrqLine;
using testing::read_byte;
using testing::write_byte;

// Register offsets and bits, spelled out here so the tests do not trust the device's own.
constexpr uint64_t kData = 0, kIer = 1, kIir = 2, kFcr = 2, kLcr = 3, kMcr = 4, kLsr = 5, kMsr = 6,
                   kScr = 7;
constexpr uint8_t kIerRx = 0x01, kIerThr = 0x02, kIerLine = 0x04;
constexpr uint8_t kIirNone = 0x01, kIirThr = 0x02, kIirRx = 0x04, kIirLine = 0x06;
constexpr uint8_t kLsrDr = 0x01, kLsrOe = 0x02, kLsrThre = 0x20, kLsrTemt = 0x40;
constexpr uint8_t kMcrLoop = 0x10;

class SerialTest : public ::testing::Test {
 protected:
  std::shared_ptr<CountingIrqLine> irq_ = std::make_shared<CountingIrqLine>();
  std::shared_ptr<CapturingSink> sink_ = std::make_shared<CapturingSink>();
  int drained_ = 0;
  Serial serial_{irq_, sink_, [this] { ++drained_; }};

  size_t enqueue(std::string_view s) {
    return serial_.enqueue_input(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  }
  void send(std::string_view s) {
    for (char c : s) write_byte(serial_, kData, static_cast<uint8_t>(c));
  }
};

TEST_F(SerialTest, TransmittedBytesReachTheSink) {
  send("hi\n");
  EXPECT_EQ(sink_->text(), "hi\n");
  // Output is immediate, so the transmitter always reads empty.
  EXPECT_EQ(read_byte(serial_, kLsr), kLsrThre | kLsrTemt);
  // With IER clear, transmitting raises no interrupt.
  EXPECT_EQ(irq_->count(), 0);
}

TEST_F(SerialTest, DivisorLatchWritesDoNotTransmit) {
  write_byte(serial_, kLcr, 0x80);  // DLAB
  write_byte(serial_, kData, 0x01);
  write_byte(serial_, kIer, 0x02);
  EXPECT_EQ(read_byte(serial_, kData), 0x01);
  EXPECT_EQ(read_byte(serial_, kIer), 0x02);
  write_byte(serial_, kLcr, 0x03);
  EXPECT_TRUE(sink_->bytes().empty());
  // The latch did not touch IER, and the data port transmits again.
  EXPECT_EQ(read_byte(serial_, kIer), 0x00);
  send("x");
  EXPECT_EQ(sink_->text(), "x");
  // And the latch kept its value.
  write_byte(serial_, kLcr, 0x83);
  EXPECT_EQ(read_byte(serial_, kData), 0x01);
  EXPECT_EQ(read_byte(serial_, kIer), 0x02);
}

TEST_F(SerialTest, LcrAndScratchRoundTrip) {
  write_byte(serial_, kLcr, 0x1b);
  EXPECT_EQ(read_byte(serial_, kLcr), 0x1b);
  write_byte(serial_, kScr, 0xa5);
  EXPECT_EQ(read_byte(serial_, kScr), 0xa5);
  write_byte(serial_, kScr, 0x5a);
  EXPECT_EQ(read_byte(serial_, kScr), 0x5a);
  write_byte(serial_, kMcr, 0xff);
  EXPECT_EQ(read_byte(serial_, kMcr), 0x1f);  // bits 5-7 are reserved
  write_byte(serial_, kIer, 0xff);
  EXPECT_EQ(read_byte(serial_, kIer), 0x0f);
}

TEST_F(SerialTest, ModemStatusWithoutLoopbackLetsTheGuestSend) {
  EXPECT_EQ(read_byte(serial_, kMsr), 0xb0);  // DCD | DSR | CTS
}

TEST_F(SerialTest, LoopbackSendsThrIntoTheReceiver) {
  // Linux's probe: loopback with RTS and OUT2 must read back CTS and DCD.
  write_byte(serial_, kMcr, kMcrLoop | 0x0a);
  EXPECT_EQ(read_byte(serial_, kMsr) & 0xf0, 0x90);
  write_byte(serial_, kMcr, kMcrLoop | 0x05);  // DTR, OUT1 -> DSR, RI
  EXPECT_EQ(read_byte(serial_, kMsr) & 0xf0, 0x60);

  send("ok");
  EXPECT_TRUE(sink_->bytes().empty());
  EXPECT_EQ(read_byte(serial_, kLsr) & kLsrDr, kLsrDr);
  EXPECT_EQ(read_byte(serial_, kData), 'o');
  EXPECT_EQ(read_byte(serial_, kData), 'k');
  EXPECT_EQ(read_byte(serial_, kLsr) & kLsrDr, 0);

  // Input from outside is not accepted while the receiver listens to the transmitter.
  EXPECT_EQ(enqueue("z"), 0u);
  int drained_before = drained_;
  write_byte(serial_, kMcr, 0x08);
  EXPECT_GT(drained_, drained_before);  // leaving loopback invites input again
  EXPECT_EQ(enqueue("z"), 1u);
  send("!");
  EXPECT_EQ(sink_->text(), "!");
}

TEST_F(SerialTest, LoopbackOverflowSetsOverrunAndLineStatusInterrupt) {
  write_byte(serial_, kMcr, kMcrLoop);
  write_byte(serial_, kIer, kIerLine);
  for (size_t i = 0; i < Serial::kRxFifoCapacity; ++i) write_byte(serial_, kData, 'a');
  EXPECT_EQ(irq_->take(), 0);
  write_byte(serial_, kData, 'b');  // lost
  EXPECT_EQ(irq_->take(), 1);
  EXPECT_EQ(read_byte(serial_, kIir) & 0x0f, kIirLine);
  EXPECT_EQ(read_byte(serial_, kLsr), kLsrDr | kLsrOe | kLsrThre | kLsrTemt);
  // Reading LSR clears the error and with it the interrupt.
  EXPECT_EQ(read_byte(serial_, kLsr) & kLsrOe, 0);
  EXPECT_EQ(read_byte(serial_, kIir) & 0x0f, kIirNone);
  for (size_t i = 0; i < Serial::kRxFifoCapacity; ++i) EXPECT_EQ(read_byte(serial_, kData), 'a');
  EXPECT_EQ(read_byte(serial_, kLsr) & kLsrDr, 0);
}

TEST_F(SerialTest, IirReportsNoInterruptAndFifoBits) {
  EXPECT_EQ(read_byte(serial_, kIir), kIirNone);
  write_byte(serial_, kFcr, 0x01);
  EXPECT_EQ(read_byte(serial_, kIir), 0xc0 | kIirNone);
  write_byte(serial_, kFcr, 0x00);
  EXPECT_EQ(read_byte(serial_, kIir), kIirNone);
}

TEST_F(SerialTest, EnablingThriRaisesThrEmptyAndIirReadAcknowledgesIt) {
  write_byte(serial_, kIer, kIerThr);
  EXPECT_EQ(irq_->take(), 1);
  EXPECT_EQ(read_byte(serial_, kIir), kIirThr);
  EXPECT_EQ(read_byte(serial_, kIir), kIirNone);
  EXPECT_EQ(irq_->take(), 0);

  // Writing IER again without changing THRI raises nothing new.
  write_byte(serial_, kIer, kIerThr);
  EXPECT_EQ(irq_->take(), 0);
  EXPECT_EQ(read_byte(serial_, kIir), kIirNone);

  // Each transmitted byte empties THR again: a fresh interrupt once the last was acknowledged.
  send("a");
  EXPECT_EQ(irq_->take(), 1);
  // While it is still unacknowledged, more bytes do not raise more edges.
  send("bc");
  EXPECT_EQ(irq_->take(), 0);
  EXPECT_EQ(read_byte(serial_, kIir), kIirThr);
  send("d");
  EXPECT_EQ(irq_->take(), 1);

  // Disabling THRI drops the pending interrupt.
  write_byte(serial_, kIer, 0);
  EXPECT_EQ(read_byte(serial_, kIir), kIirNone);
  EXPECT_EQ(sink_->text(), "abcd");
}

TEST_F(SerialTest, LinuxThreBugProbeSeesThrEmptyBothTimes) {
  // serial8250_do_startup enables THRI twice around an IIR read and expects the interrupt
  // pending each time; a UART that fails gets treated as buggy.
  write_byte(serial_, kIer, kIerThr);
  uint8_t iir1 = read_byte(serial_, kIir);
  write_byte(serial_, kIer, 0);
  write_byte(serial_, kIer, kIerThr);
  uint8_t iir2 = read_byte(serial_, kIir);
  write_byte(serial_, kIer, 0);
  EXPECT_EQ(iir1 & kIirNone, 0);
  EXPECT_EQ(iir2 & kIirNone, 0);
  EXPECT_EQ(irq_->take(), 2);
}

TEST_F(SerialTest, IirPriorityRxDataOverThrEmpty) {
  write_byte(serial_, kIer, kIerThr);
  EXPECT_EQ(irq_->take(), 1);
  write_byte(serial_, kIer, kIerThr | kIerRx);
  EXPECT_EQ(irq_->take(), 0);  // THRI unchanged, no new source
  EXPECT_EQ(enqueue("x"), 1u);
  EXPECT_EQ(irq_->take(), 1);
  // RX data is reported first, and reading IIR then does not acknowledge THR empty.
  EXPECT_EQ(read_byte(serial_, kIir), kIirRx);
  EXPECT_EQ(read_byte(serial_, kIir), kIirRx);
  EXPECT_EQ(read_byte(serial_, kData), 'x');
  EXPECT_EQ(read_byte(serial_, kIir), kIirThr);
  EXPECT_EQ(read_byte(serial_, kIir), kIirNone);
}

TEST_F(SerialTest, IirPriorityLineStatusOverRxData) {
  write_byte(serial_, kMcr, kMcrLoop);
  write_byte(serial_, kIer, kIerRx | kIerLine);
  for (size_t i = 0; i <= Serial::kRxFifoCapacity; ++i) write_byte(serial_, kData, 'q');
  EXPECT_EQ(read_byte(serial_, kIir), kIirLine);
  (void)read_byte(serial_, kLsr);
  EXPECT_EQ(read_byte(serial_, kIir), kIirRx);
}

TEST_F(SerialTest, ReceiveFifoKeepsOrderAndBound) {
  EXPECT_EQ(read_byte(serial_, kLsr) & kLsrDr, 0);
  std::string big(Serial::kRxFifoCapacity + 10, '.');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('A' + i % 26);
  EXPECT_EQ(enqueue(big), Serial::kRxFifoCapacity);
  EXPECT_EQ(serial_.rx_free(), 0u);
  EXPECT_EQ(enqueue("more"), 0u);
  EXPECT_EQ(read_byte(serial_, kLsr) & kLsrDr, kLsrDr);
  for (size_t i = 0; i < Serial::kRxFifoCapacity; ++i) {
    ASSERT_EQ(read_byte(serial_, kData), static_cast<uint8_t>(big[i])) << "byte " << i;
  }
  EXPECT_EQ(read_byte(serial_, kLsr) & kLsrDr, 0);
  EXPECT_EQ(read_byte(serial_, kData), 0);  // empty FIFO reads 0
  EXPECT_EQ(serial_.rx_free(), Serial::kRxFifoCapacity);
  // No input overrun: the caller was told how much was taken instead.
  EXPECT_EQ(read_byte(serial_, kLsr) & kLsrOe, 0);
}

TEST_F(SerialTest, ReceiveFifoWrapsAround) {
  for (int round = 0; round < 5; ++round) {
    std::string chunk(40, static_cast<char>('a' + round));
    ASSERT_EQ(enqueue(chunk), chunk.size());
    for (char c : chunk) ASSERT_EQ(read_byte(serial_, kData), static_cast<uint8_t>(c));
  }
}

TEST_F(SerialTest, ReceiveInterruptFollowsIer) {
  EXPECT_EQ(enqueue("a"), 1u);
  EXPECT_EQ(irq_->take(), 0);  // RX interrupt disabled
  write_byte(serial_, kIer, kIerRx);
  EXPECT_EQ(irq_->take(), 1);  // enabling it with data waiting raises it
  EXPECT_EQ(read_byte(serial_, kIir), kIirRx);
  EXPECT_EQ(enqueue("b"), 1u);
  EXPECT_EQ(irq_->take(), 0);  // already pending
  EXPECT_EQ(read_byte(serial_, kData), 'a');
  EXPECT_EQ(read_byte(serial_, kData), 'b');
  EXPECT_EQ(read_byte(serial_, kIir), kIirNone);
  EXPECT_EQ(enqueue("cd"), 2u);
  EXPECT_EQ(irq_->take(), 1);  // one edge for the batch
}

TEST_F(SerialTest, DrainCallbackRunsWhenTheGuestEmptiesTheFifo) {
  EXPECT_EQ(enqueue("ab"), 2u);
  (void)read_byte(serial_, kData);
  EXPECT_EQ(drained_, 0);
  (void)read_byte(serial_, kData);
  EXPECT_EQ(drained_, 1);
  (void)read_byte(serial_, kData);  // reading an empty FIFO is not a new drain
  EXPECT_EQ(drained_, 1);
}

TEST_F(SerialTest, FifoControlClearsReceiver) {
  write_byte(serial_, kFcr, 0x01);
  EXPECT_EQ(enqueue("abc"), 3u);
  write_byte(serial_, kFcr, 0x03);  // enable + clear RX
  EXPECT_EQ(read_byte(serial_, kLsr) & kLsrDr, 0);
  EXPECT_EQ(drained_, 1);
  EXPECT_EQ(enqueue("abc"), 3u);
  write_byte(serial_, kFcr, 0x00);  // changing the enable bit resets the FIFOs too
  EXPECT_EQ(read_byte(serial_, kLsr) & kLsrDr, 0);
}

TEST_F(SerialTest, StateRoundTrip) {
  write_byte(serial_, kLcr, 0x80);
  write_byte(serial_, kData, 0x34);
  write_byte(serial_, kIer, 0x12);
  write_byte(serial_, kLcr, 0x1b);
  write_byte(serial_, kScr, 0x77);
  write_byte(serial_, kFcr, 0x01);
  write_byte(serial_, kMcr, 0x0b);
  // Put the FIFO's head in the middle so the ring wraps in the saved copy.
  ASSERT_EQ(enqueue(std::string(60, 'x')), 60u);
  for (int i = 0; i < 60; ++i) (void)read_byte(serial_, kData);
  ASSERT_EQ(enqueue("hello, world"), 12u);
  write_byte(serial_, kIer, kIerThr | kIerRx);

  const Serial::State saved = serial_.save_state();
  static_assert(std::is_trivially_copyable_v<Serial::State>);
  EXPECT_EQ(saved.rx_count, 12);

  auto irq2 = std::make_shared<CountingIrqLine>();
  auto sink2 = std::make_shared<CapturingSink>();
  Serial copy(irq2, sink2);
  ASSERT_TRUE(copy.restore_state(saved).ok());
  const Serial::State again = copy.save_state();
  EXPECT_EQ(std::memcmp(&saved, &again, sizeof saved), 0);

  EXPECT_EQ(read_byte(copy, kLcr), 0x1b);
  EXPECT_EQ(read_byte(copy, kScr), 0x77);
  EXPECT_EQ(read_byte(copy, kMcr), 0x0b);
  EXPECT_EQ(read_byte(copy, kIer), kIerThr | kIerRx);
  EXPECT_EQ(read_byte(copy, kIir), 0xc0 | kIirRx);
  write_byte(copy, kLcr, 0x9b);
  EXPECT_EQ(read_byte(copy, kData), 0x34);
  EXPECT_EQ(read_byte(copy, kIer), 0x12);
  write_byte(copy, kLcr, 0x1b);
  std::string got;
  while (read_byte(copy, kLsr) & kLsrDr) got.push_back(static_cast<char>(read_byte(copy, kData)));
  EXPECT_EQ(got, "hello, world");
  // Restoring raises no interrupt by itself: the interrupt controller's state is restored too.
  EXPECT_EQ(irq2->count(), 0);
}

TEST_F(SerialTest, RestoreRejectsImpossibleState) {
  Serial::State s = serial_.save_state();
  s.rx_count = Serial::kRxFifoCapacity + 1;
  auto r = serial_.restore_state(s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("RX FIFO"), std::string::npos);

  s = serial_.save_state();
  s.overrun = 7;
  EXPECT_FALSE(serial_.restore_state(s).ok());

  s = serial_.save_state();
  s.ier = 0xf0;
  EXPECT_FALSE(serial_.restore_state(s).ok());
  // Nothing changed on failure.
  EXPECT_EQ(read_byte(serial_, kLcr), 0x03);
}

TEST_F(SerialTest, WideAndOddAccessesAreSane) {
  // A 2-byte write uses its first byte; the rest is ignored.
  std::array<uint8_t, 2> w2 = {'A', 'B'};
  serial_.write(kData, w2);
  EXPECT_EQ(sink_->text(), "A");
  std::array<uint8_t, 4> w4 = {0x44, 0x55, 0x66, 0x77};
  serial_.write(kScr, w4);
  // A 4-byte read returns the register in byte 0 and zero above it.
  std::array<uint8_t, 4> r4 = {0xff, 0xff, 0xff, 0xff};
  serial_.read(kScr, r4);
  EXPECT_EQ(r4, (std::array<uint8_t, 4>{0x44, 0, 0, 0}));
  std::array<uint8_t, 8> r8;
  r8.fill(0xff);
  serial_.read(kLsr, r8);
  EXPECT_EQ(r8[0], kLsrThre | kLsrTemt);
  for (size_t i = 1; i < r8.size(); ++i) EXPECT_EQ(r8[i], 0);
  // Empty accesses and offsets past the eight registers do nothing.
  serial_.write(kData, std::span<const uint8_t>());
  serial_.read(kData, std::span<uint8_t>());
  write_byte(serial_, 8, 'Z');
  write_byte(serial_, ~uint64_t{0}, 'Z');
  EXPECT_EQ(read_byte(serial_, 8), 0);
  EXPECT_EQ(read_byte(serial_, 1ull << 40), 0);
  EXPECT_EQ(sink_->text(), "A");
}

// An interrupt line that looks at the device when triggered, as an irqfd-backed line that
// logs could: it must not find the device's lock held.
class InspectingIrqLine final : public IrqLine {
 public:
  void trigger() override {
    ++count;
    if (serial != nullptr) (void)serial->save_state();
  }
  Serial* serial = nullptr;
  int count = 0;
};

TEST(SerialConcurrencyTest, CallbacksRunWithoutTheDeviceLock) {
  auto irq = std::make_shared<InspectingIrqLine>();
  auto sink = std::make_shared<CapturingSink>();
  std::string pending = "second";
  Serial* self = nullptr;
  // The VMM refills the FIFO from its drain notification: re-entering must not deadlock.
  Serial serial(irq, sink, [&] {
    if (pending.empty()) return;
    size_t n = self->enqueue_input(std::span<const uint8_t>(
        reinterpret_cast<const uint8_t*>(pending.data()), pending.size()));
    pending.erase(0, n);
  });
  self = &serial;
  irq->serial = &serial;
  write_byte(serial, kIer, kIerRx | kIerThr);
  const std::string first = "first";
  ASSERT_EQ(serial.enqueue_input(std::span<const uint8_t>(
                reinterpret_cast<const uint8_t*>(first.data()), first.size())),
            first.size());
  std::string got;
  while (read_byte(serial, kLsr) & kLsrDr) {
    got.push_back(static_cast<char>(read_byte(serial, kData)));
  }
  EXPECT_EQ(got, "firstsecond");
  EXPECT_GE(irq->count, 2);
}

TEST(SerialConcurrencyTest, GuestAndVmmThreadsInterleave) {
  auto irq = std::make_shared<CountingIrqLine>();
  auto sink = std::make_shared<CapturingSink>();
  Serial serial(irq, sink);
  write_byte(serial, kIer, kIerRx | kIerThr);
  constexpr size_t kBytes = 5000;
  std::atomic<bool> done{false};
  std::thread vmm([&] {
    size_t sent = 0;
    while (sent < kBytes) {
      const uint8_t b = static_cast<uint8_t>(sent);
      sent += serial.enqueue_input(std::span<const uint8_t>(&b, 1));
    }
    done = true;
  });
  // The "vCPU": transmits and drains the receiver, checking the bytes arrive in order.
  size_t received = 0;
  size_t transmitted = 0;
  while (received < kBytes) {
    write_byte(serial, kData, 'x');
    ++transmitted;
    (void)read_byte(serial, kIir);
    while (read_byte(serial, kLsr) & kLsrDr) {
      ASSERT_EQ(read_byte(serial, kData), static_cast<uint8_t>(received));
      ++received;
    }
  }
  vmm.join();
  EXPECT_TRUE(done);
  EXPECT_EQ(sink->bytes().size(), transmitted);
}

TEST(FdOutputSinkTest, WritesEverythingToTheFd) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  {
    FdOutputSink sink{UniqueFd(fds[1])};
    const std::string msg = "console line\n";
    sink.write_bytes(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(msg.data()),
                                              msg.size()));
    EXPECT_EQ(sink.dropped_bytes(), 0u);
  }  // closes the write end
  std::string got;
  char buf[64];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) got.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  EXPECT_EQ(got, "console line\n");
}

TEST(FdOutputSinkTest, FailedWritesAreDroppedAndCounted) {
  testing::LogCapture log;
  int bad_fd = ::open("/dev/null", O_RDONLY);  // writing to a read-only fd fails with EBADF
  ASSERT_GE(bad_fd, 0);
  FdOutputSink sink{UniqueFd(bad_fd)};
  const uint8_t bytes[3] = {1, 2, 3};
  sink.write_bytes(bytes);
  sink.write_bytes(bytes);
  EXPECT_EQ(sink.dropped_bytes(), 6u);
  const std::string text = log.text();
  // One warning, not one per write.
  auto first = text.find("dropping output");
  ASSERT_NE(first, std::string::npos);
  EXPECT_EQ(text.find("dropping output", first + 1), std::string::npos);
}

}  // namespace
}  // namespace ember
