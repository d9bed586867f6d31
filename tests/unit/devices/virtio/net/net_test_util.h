// Helpers for the virtio-net tests: a socket backend in place of a tap (no root needed), a
// registrar that records what the device watches, a hand-moved clock, and a guest driver
// that sets up both queues and the virtio_net_hdr (virtio 1.2 §5.1.6) independently of the
// code under test.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "devices/event_registrar.h"
#include "devices/rate_limiter/clock.h"
#include "devices/virtio/net/net_backend.h"
#include "devices/virtio/queue.h"
#include "tests/unit/devices/virtio/virtio_test_util.h"
#include "base/unique_fd.h"
#include "tests/unit/devices/rate_limiter/fake_clock.h"

namespace ember::net_testing {

inline constexpr size_t kHdr = 12;
inline constexpr uint64_t kVersion1 = 1ull << 32, kEventIdx = 1ull << 29, kIndirect = 1ull << 28;
inline constexpr uint64_t kCsum = 1ull << 0, kGuestCsum = 1ull << 1, kMtu = 1ull << 3,
                          kMac = 1ull << 5, kGuestTso4 = 1ull << 7, kGuestTso6 = 1ull << 8,
                          kGuestUfo = 1ull << 10, kHostTso4 = 1ull << 11, kHostTso6 = 1ull << 12,
                          kHostUfo = 1ull << 14, kMrgRxbuf = 1ull << 15, kStatus = 1ull << 16;

// A SOCK_SEQPACKET socket pair: the device owns one end through this backend, the test talks
// on the other (peer()). Packet boundaries are kept, like a tap's frames.
class SocketBackend final : public NetBackend {
 public:
  SocketBackend() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    mine_.reset(fds[0]);
    peer_.reset(fds[1]);
  }
  int fd() const override { return mine_.get(); }
  std::string description() const override { return "test socket"; }
  FrameIo read_frame(std::span<const iovec> iov) override {
    return result(::readv(mine_.get(), iov.data(), static_cast<int>(iov.size())));
  }
  FrameIo write_frame(std::span<const iovec> iov) override {
    if (refuse_writes_with != 0) return {FrameIo::Status::kFailed, 0, refuse_writes_with};
    return result(::writev(mine_.get(), iov.data(), static_cast<int>(iov.size())));
  }
  Result<GuestOffloads> set_guest_offloads(const GuestOffloads& wanted) override {
    requested = wanted;
    GuestOffloads taken = wanted;
    if (!accept_ufo) taken.ufo = false;
    return taken;
  }

  // Test side. Sends a frame (header included) to the device / takes one it sent.
  int peer() const { return peer_.get(); }
  void send(const std::vector<uint8_t>& frame) const {
    EXPECT_EQ(::send(peer_.get(), frame.data(), frame.size(), 0),
              static_cast<ssize_t>(frame.size()));
  }
  // Empty when nothing is there.
  std::vector<uint8_t> receive() const {
    std::vector<uint8_t> buf(70000);
    const ssize_t n = ::recv(peer_.get(), buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0) return {};
    buf.resize(static_cast<size_t>(n));
    return buf;
  }
  // Frames queued towards the device and not read yet.
  bool device_side_has_data() const {
    pollfd p{mine_.get(), POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
  }

  GuestOffloads requested;
  bool accept_ufo = true;
  int refuse_writes_with = 0;  // an errno: make writes fail

 private:
  static FrameIo result(ssize_t n) {
    if (n >= 0) return {FrameIo::Status::kDone, static_cast<size_t>(n), 0};
    if (errno == EAGAIN) return {FrameIo::Status::kWouldBlock, 0, EAGAIN};
    return {FrameIo::Status::kFailed, 0, errno};
  }
  UniqueFd mine_;
  UniqueFd peer_;
};

// Records watches; the test calls the device's process_event() itself.
class RecordingRegistrar final : public EventRegistrar {
 public:
  struct Watch {
    uint32_t events;
    uint32_t event_id;
  };
  Result<void> watch(int fd, uint32_t events, uint32_t event_id) override {
    if (watched.contains(fd)) return make_error("fd watched twice");
    watched[fd] = {events, event_id};
    return {};
  }
  Result<void> modify(int fd, uint32_t events, uint32_t event_id) override {
    if (!watched.contains(fd)) return make_error("fd not watched");
    watched[fd] = {events, event_id};
    return {};
  }
  void unwatch(int fd) override { watched.erase(fd); }
  // The fd watched with `event_id`, or -1.
  int fd_for(uint32_t event_id) const {
    for (const auto& [fd, w] : watched)
      if (w.event_id == event_id) return fd;
    return -1;
  }
  std::map<int, Watch> watched;
};

struct FakeClock : testing_clock::FakeClock {
  FakeClock() : testing_clock::FakeClock(5'000'000'000) {}
};

// A 12-byte virtio_net_hdr (all zero: no offload) followed by `len` bytes of a pattern.
inline std::vector<uint8_t> make_frame(size_t len, uint8_t seed, uint16_t num_buffers = 0) {
  std::vector<uint8_t> f(kHdr + len, 0);
  std::memcpy(&f[10], &num_buffers, 2);
  for (size_t i = 0; i < len; ++i) f[kHdr + i] = static_cast<uint8_t>(seed + i * 13);
  return f;
}

// Guest memory and the driver side of both queues (receiveq at 0x10000, transmitq at
// 0x20000), and the device-side VirtQueue objects the transport would hand to activate().
class NetQueues {
 public:
  explicit NetQueues(uint16_t size = 16)
      : rx(mem, size, 0x10000), tx(mem, size, 0x20000), queues_{VirtQueue(256), VirtQueue(256)} {
    setup(queues_[0], rx);
    setup(queues_[1], tx);
  }
  std::span<VirtQueue> queues() { return queues_; }
  // Replaces the device-side queues with saved states (a restore), activated again.
  void restore(const VirtQueue::State& rx_state, const VirtQueue::State& tx_state) {
    queues_[0].reset();
    queues_[1].reset();
    EXPECT_TRUE(queues_[0].restore_state(rx_state).ok());
    EXPECT_TRUE(queues_[1].restore_state(tx_state).ok());
    EXPECT_TRUE(queues_[0].activate(mem).ok());
    EXPECT_TRUE(queues_[1].activate(mem).ok());
  }

  GuestMemory mem = virtio_testing::make_memory();
  virtio_testing::GuestQueue rx;
  virtio_testing::GuestQueue tx;
  bool event_idx = false;
  bool indirect = true;

 private:
  void setup(VirtQueue& q, const virtio_testing::GuestQueue& g) {
    q.set_size(g.size());
    q.set_desc_table(g.desc_addr());
    q.set_avail_ring(g.avail_addr());
    q.set_used_ring(g.used_addr());
    q.set_negotiated(event_idx, indirect);
    q.set_ready(true);
    EXPECT_TRUE(q.activate(mem).ok());
  }
  std::array<VirtQueue, 2> queues_;
};

}  // namespace ember::net_testing
