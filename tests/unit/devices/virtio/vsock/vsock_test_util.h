// Test helpers for virtio-vsock: an epoll-backed EventRegistrar that drives the device the
// way the VMM's loop does, a guest driver for the three queues (written from the spec, not
// from the device code), and host socket helpers.
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "devices/event_registrar.h"
#include "devices/virtio/mmio_transport.h"
#include "devices/virtio/queue.h"
#include "devices/virtio/virtio_device.h"
#include "devices/virtio/vsock/vsock_packet.h"
#include "tests/unit/devices/virtio/virtio_test_util.h"
#include "memory/guest_memory.h"
#include "base/unique_fd.h"

namespace ember::vsock_testing {

using vsock::PacketHeader;

// Level-triggered epoll, as in the VMM: a ready fd the device does not serve fires again,
// which settle() notices as a loop that never goes quiet.
class EpollRegistrar final : public EventRegistrar {
 public:
  EpollRegistrar() : epoll_(::epoll_create1(EPOLL_CLOEXEC)) { EXPECT_TRUE(epoll_.valid()); }

  Result<void> watch(int fd, uint32_t events, uint32_t event_id) override {
    if (watched_.contains(fd)) return make_error("fd " + std::to_string(fd) + " watched twice");
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = event_id;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) < 0) return make_error("epoll add");
    watched_[fd] = {events, event_id};
    return {};
  }
  Result<void> modify(int fd, uint32_t events, uint32_t event_id) override {
    if (!watched_.contains(fd)) return make_error("modify of an unwatched fd");
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = event_id;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev) < 0) return make_error("epoll mod");
    watched_[fd] = {events, event_id};
    return {};
  }
  void unwatch(int fd) override {
    if (watched_.erase(fd) > 0) (void)::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  }

  // Waits up to timeout_ms, then hands every ready event to the device. Returns how many.
  int dispatch(VirtioDevice& device, int timeout_ms) {
    epoll_event events[64];
    const int n = ::epoll_wait(epoll_.get(), events, 64, timeout_ms);
    for (int i = 0; i < n; ++i) {
      auto r = device.process_event(static_cast<uint32_t>(events[i].data.u64));
      EXPECT_TRUE(r.ok()) << r.error().message;
    }
    return n < 0 ? 0 : n;
  }
  // Dispatches until nothing is ready. A device that leaves an fd it cannot serve watched
  // would keep the loop busy: that fails the test.
  void settle(VirtioDevice& device) {
    for (int round = 0; round < 500; ++round)
      if (dispatch(device, 0) == 0) return;
    ADD_FAILURE() << "the event loop never went quiet: a watched fd keeps firing";
  }

  [[nodiscard]] bool watched(int fd) const { return watched_.contains(fd); }
  [[nodiscard]] uint32_t events_of(int fd) const {
    auto it = watched_.find(fd);
    return it == watched_.end() ? 0 : it->second.events;
  }
  [[nodiscard]] size_t count() const { return watched_.size(); }

 private:
  struct Watch {
    uint32_t events;
    uint32_t id;
  };
  UniqueFd epoll_;
  std::map<int, Watch> watched_;
};

struct GuestPacket {
  PacketHeader hdr;
  std::vector<uint8_t> payload;
  [[nodiscard]] std::string text() const { return std::string(payload.begin(), payload.end()); }
};

// The guest side of the three vsock queues (§5.10.2) in a test GuestMemory.
//   rx queue at 0x10000, tx at 0x20000, event at 0x30000 (each 64 entries)
//   event buffers at 0x32000, rx buffers at 0x40000 (8 KiB per slot, 32 slots),
//   tx buffers cycle through 0xc0000..0x100000.
class GuestVsockDriver {
 public:
  static constexpr uint16_t kQueueSize = 64;
  static constexpr int kRxSlots = 32;  // two descriptors each
  static constexpr uint64_t kRxBase = 0x40000, kRxStride = 0x2000;
  static constexpr uint64_t kTxBase = 0xc0000, kTxEnd = 0x100000;
  static constexpr uint64_t kEventBase = 0x32000;

  explicit GuestVsockDriver(const GuestMemory& mem) : mem_(mem) {
    for (int i = 0; i < 3; ++i) queues_.emplace_back(kQueueSize);
    for (int s = 0; s < kRxSlots; ++s) rx_free_.push_back(s);
  }

  // Configures the device's queues as a driver would and activates it.
  void activate(VirtioDevice& device, bool event_idx = false, bool event_queue_ready = true) {
    const virtio_testing::GuestQueue* guest[3] = {&rx_, &tx_, &ev_};
    for (int i = 0; i < 3; ++i) {
      VirtQueue& q = queues_[i];
      q.set_size(kQueueSize);
      q.set_desc_table(guest[i]->desc_addr());
      q.set_avail_ring(guest[i]->avail_addr());
      q.set_used_ring(guest[i]->used_addr());
      q.set_negotiated(event_idx, false);
      q.set_ready(i != 2 || event_queue_ready);
      if (q.ready()) {
        EXPECT_TRUE(q.activate(mem_).ok());
      }
    }
    auto r = device.activate(mem_, 1ull << 32, queues_, interrupt);
    ASSERT_TRUE(r.ok()) << r.error().message;
    kick_ = [&device](uint16_t q) {
      auto r = device.process_queue(q);
      EXPECT_TRUE(r.ok()) << r.error().message;
    };
  }

  // The same through the virtio-mmio registers (§4.2.3.1 / §3.1.1); notifications then go
  // through the transport too.
  void activate_mmio(VirtioMmioTransport& t) {
    auto wr = [&t](uint64_t offset, uint32_t v) {
      t.write(offset, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&v), 4));
    };
    wr(0x070, 1);
    wr(0x070, 1 | 2);
    wr(0x024, 1);
    wr(0x020, 1);  // VIRTIO_F_VERSION_1
    wr(0x070, 1 | 2 | 8);
    const virtio_testing::GuestQueue* guest[3] = {&rx_, &tx_, &ev_};
    for (uint32_t q = 0; q < 3; ++q) {
      wr(0x030, q);
      wr(0x038, kQueueSize);
      wr(0x080, static_cast<uint32_t>(guest[q]->desc_addr()));
      wr(0x090, static_cast<uint32_t>(guest[q]->avail_addr()));
      wr(0x0a0, static_cast<uint32_t>(guest[q]->used_addr()));
      wr(0x044, 1);
    }
    wr(0x070, 1 | 2 | 8 | 4);
    EXPECT_TRUE(t.device_active());
    notify_through(t);
  }
  void notify_through(VirtioMmioTransport& t) {
    kick_ = [&t](uint16_t q) { t.notify_queue(q); };
  }

  // Posts up to `count` rx buffers of `size` bytes. Split buffers put the first 10 bytes in
  // their own descriptor, so the header crosses a descriptor boundary.
  void post_rx(int count, uint32_t size = 44 + 4096, bool split = false) {
    for (int i = 0; i < count && !rx_free_.empty(); ++i) {
      const int slot = rx_free_.front();
      rx_free_.erase(rx_free_.begin());
      const uint64_t addr = kRxBase + kRxStride * slot;
      EXPECT_TRUE(mem_.fill(addr, 0xcc, size).ok());
      const auto first = static_cast<uint16_t>(2 * slot);
      if (split) {
        rx_.add_chain({{addr, 10, true}, {addr + 10, size - 10, true}}, first);
      } else {
        rx_.add_chain({{addr, size, true}}, first);
      }
    }
    kick(0);
  }
  // Posts an rx chain exactly as given (for malformed chains); `first` descriptor index.
  void post_rx_raw(const std::vector<virtio_testing::Buf>& bufs, uint16_t first) {
    rx_.add_chain(bufs, first);
    kick(0);
  }
  [[nodiscard]] int rx_posted() const { return kRxSlots - static_cast<int>(rx_free_.size()); }

  // Packets the device put in rx buffers since the last call; their slots become free.
  std::vector<GuestPacket> take_rx() {
    std::vector<GuestPacket> out;
    while (rx_seen_ != rx_.used_idx()) {
      const uint32_t id = rx_.used_id(rx_seen_);
      const uint32_t len = rx_.used_len(rx_seen_);
      ++rx_seen_;
      const int slot = static_cast<int>(id / 2);
      rx_free_.push_back(slot);
      if (len == 0) continue;  // returned unused
      EXPECT_GE(len, vsock::kHeaderSize);
      std::vector<uint8_t> bytes(len);
      EXPECT_TRUE(mem_.read(kRxBase + kRxStride * slot, bytes).ok());
      GuestPacket p;
      p.hdr = vsock::decode_header(std::span<const uint8_t, vsock::kHeaderSize>(
          bytes.data(), vsock::kHeaderSize));
      p.payload.assign(bytes.begin() + vsock::kHeaderSize, bytes.end());
      EXPECT_EQ(p.hdr.len, p.payload.size()) << "used length = header + payload (§2.7.8)";
      out.push_back(std::move(p));
    }
    return out;
  }

  // Sends one packet on tx: header and payload in separate descriptors, then notifies.
  void send(const PacketHeader& h, std::span<const uint8_t> payload = {}) {
    const auto header = vsock::encode_header(h);
    const uint64_t at = tx_space(header.size() + payload.size());
    EXPECT_TRUE(mem_.write(at, header).ok());
    std::vector<virtio_testing::Buf> bufs = {{at, static_cast<uint32_t>(header.size()), false}};
    if (!payload.empty()) {
      EXPECT_TRUE(mem_.write(at + header.size(), payload).ok());
      bufs.push_back({at + header.size(), static_cast<uint32_t>(payload.size()), false});
    }
    send_raw(bufs);
  }
  void send(const PacketHeader& h, const std::string& payload) {
    send(h, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(payload.data()),
                                     payload.size()));
  }
  // Sends a chain as given; returns its head.
  uint16_t send_raw(const std::vector<virtio_testing::Buf>& bufs, bool notify = true) {
    const uint16_t head = tx_next_;
    tx_.add_chain(bufs, head);
    tx_next_ = static_cast<uint16_t>((tx_next_ + bufs.size()) % kQueueSize);
    if (notify) kick(1);
    return head;
  }
  // Free guest memory for a tx packet of `len` bytes.
  uint64_t tx_space(uint64_t len) {
    if (tx_cursor_ + len > kTxEnd) tx_cursor_ = kTxBase;
    const uint64_t at = tx_cursor_;
    tx_cursor_ += (len + 15) & ~15ull;
    return at;
  }
  [[nodiscard]] uint16_t tx_used() const { return tx_.used_idx(); }
  [[nodiscard]] uint16_t tx_avail() const { return tx_.avail_idx(); }

  // Event queue (§5.10.6.7).
  void post_event_buffer(uint16_t index = 0) {
    EXPECT_TRUE(mem_.fill(kEventBase + 16 * index, 0xff, 4).ok());
    ev_.add_chain({{kEventBase + 16 * index, 4, true}}, index);
    kick(2);
  }
  [[nodiscard]] uint16_t events_used() const { return ev_.used_idx(); }
  [[nodiscard]] uint32_t event_id(uint16_t index = 0) const {
    return ev_.read32(kEventBase + 16 * index);
  }

  void kick(uint16_t queue) {
    if (kick_) kick_(queue);
  }

  virtio_testing::CountingInterrupt interrupt;

 private:
  const GuestMemory& mem_;
  virtio_testing::GuestQueue rx_{mem_, kQueueSize, 0x10000};
  virtio_testing::GuestQueue tx_{mem_, kQueueSize, 0x20000};
  virtio_testing::GuestQueue ev_{mem_, kQueueSize, 0x30000};
  std::vector<VirtQueue> queues_;
  std::function<void(uint16_t)> kick_;
  std::vector<int> rx_free_;
  uint16_t rx_seen_ = 0;
  uint16_t tx_next_ = 0;
  uint64_t tx_cursor_ = kTxBase;
};

// --- Host side.

inline UniqueFd unix_connect(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0)
      << path << ": " << std::strerror(errno);
  return fd;
}

inline UniqueFd unix_listen(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(::listen(fd.get(), 16), 0);
  return fd;
}

inline void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    ASSERT_GT(n, 0) << std::strerror(errno);
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// Whatever is readable within timeout_ms (empty when nothing is).
inline std::string read_available(int fd, int timeout_ms = 0) {
  std::string out;
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0) return out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// True when the peer closed (or shut its write side): a read gives end of stream.
inline bool at_eof(int fd, int timeout_ms = 0) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0) return false;
  char c;
  const ssize_t n = ::recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

}  // namespace ember::vsock_testing
