// The real Tap class and virtio-net over it, inside a network namespace the test creates
// (`ip netns add`), with a raw AF_PACKET socket on the tap at the other end. All traffic stays
// in that namespace: it has no route, no address and no link to anything else, and it is
// deleted at the end.
//
// These tests need root (they create a namespace and a tap). CI runs as root; elsewhere they
// FAIL with the reason rather than skip, so a CI that lost root does not pass silently.
#include "devices/virtio/net/tap.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "devices/virtio/net/virtio_net.h"
#include "tests/unit/devices/virtio/net/net_test_util.h"

namespace ember {
namespace {

using namespace net_testing;  // NOLINT(google-build-using-namespace)

// IEEE 802 "local experimental" EtherType: nothing in the namespace speaks it but us.
constexpr uint16_t kTestEtherType = 0x88b5;

// Runs a shell command; returns its exit status, with its output in *out.
int run(const std::string& command, std::string* out = nullptr) {
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  std::string text;
  char buf[256];
  while (std::fgets(buf, sizeof buf, p) != nullptr) text += buf;
  const int status = ::pclose(p);
  if (out != nullptr) *out = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A network namespace holding one tap, "tap0", up, with IPv6 off so the kernel sends nothing
// of its own on it. Deleted (with the tap) on destruction.
class TapNamespace {
 public:
  TapNamespace() {
    static std::atomic<int> counter{0};
    name_ = "ember-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  }
  ~TapNamespace() {
    if (created_) (void)run("ip netns del " + name_);
  }
  // Empty on success, else what went wrong.
  std::string create() {
    std::string out;
    if (run("ip netns add " + name_, &out) != 0) return "ip netns add " + name_ + ": " + out;
    created_ = true;
    const std::string in = "ip netns exec " + name_ + " ";
    // Quiet is nice, not needed: the tests pick their own frames out by EtherType.
    (void)run(in + "sysctl -qw net.ipv6.conf.default.disable_ipv6=1");
    (void)run(in + "sysctl -qw net.ipv6.conf.all.disable_ipv6=1");
    for (const char* step : {"ip tuntap add dev tap0 mode tap", "ip link set tap0 up"})
      if (run(in + step, &out) != 0) return in + step + ": " + out;
    return {};
  }
  const std::string& name() const { return name_; }

  // Runs `body` on a thread that has joined the namespace (namespaces are per thread, so the
  // rest of the test process stays where it was).
  template <class Body>
  void run_inside(Body body) const {
    std::thread t([&] {
      UniqueFd ns(::open(("/var/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC));
      ASSERT_TRUE(ns.valid()) << "open netns " << name_ << ": " << std::strerror(errno);
      ASSERT_EQ(::setns(ns.get(), CLONE_NEWNET), 0) << "setns: " << std::strerror(errno);
      body();
    });
    t.join();
  }

 private:
  std::string name_;
  bool created_ = false;
};

bool require_root() {
  if (::geteuid() == 0) return true;
  ADD_FAILURE() << "this test needs root (euid is " << ::geteuid()
                << "): it creates a network namespace and a tap device in it";
  return false;
}

// An Ethernet broadcast frame of our EtherType with a recognisable payload.
std::vector<uint8_t> test_ethernet_frame(uint8_t seed, size_t payload = 100) {
  std::vector<uint8_t> f(14 + payload);
  std::memset(f.data(), 0xff, 6);
  const uint8_t src[6] = {0x02, 0x00, 0x00, 0x00, 0x00, seed};
  std::memcpy(&f[6], src, 6);
  f[12] = kTestEtherType >> 8;
  f[13] = kTestEtherType & 0xff;
  for (size_t i = 0; i < payload; ++i) f[14 + i] = static_cast<uint8_t>(seed * 31 + i);
  return f;
}

// A raw packet socket on tap0 that sees only our EtherType.
UniqueFd open_packet_socket() {
  UniqueFd s(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(kTestEtherType)));
  EXPECT_TRUE(s.valid()) << "AF_PACKET socket: " << std::strerror(errno);
  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_protocol = htons(kTestEtherType);
  addr.sll_ifindex = static_cast<int>(::if_nametoindex("tap0"));
  EXPECT_NE(addr.sll_ifindex, 0) << "no tap0 in the namespace";
  EXPECT_EQ(::bind(s.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0)
      << "bind to tap0: " << std::strerror(errno);
  return s;
}

bool wait_readable(int fd, int timeout_ms = 2000) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

std::vector<uint8_t> receive_packet(int fd) {
  if (!wait_readable(fd)) return {};
  std::vector<uint8_t> buf(4096);
  const ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
  if (n < 0) return {};
  buf.resize(static_cast<size_t>(n));
  return buf;
}

bool has_test_ethertype(const uint8_t* frame, size_t len) {
  return len >= 14 && frame[12] == (kTestEtherType >> 8) && frame[13] == (kTestEtherType & 0xff);
}

TEST(Tap, NamesAreChecked) {
  EXPECT_FALSE(Tap::check_name("").ok());
  EXPECT_FALSE(Tap::check_name("0123456789abcdef").ok()) << "16 bytes";
  EXPECT_TRUE(Tap::check_name("0123456789abcde").ok()) << "15 bytes";
  EXPECT_FALSE(Tap::check_name("a/b").ok());
  EXPECT_FALSE(Tap::check_name("a b").ok());
  EXPECT_FALSE(Tap::check_name("a:1").ok());
  EXPECT_FALSE(Tap::check_name("..").ok());
  auto r = Tap::open("bad/name");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("bad/name"), std::string::npos) << r.error().message;
}

TEST(TapAsRoot, FramesBothWaysInANamespace) {
  if (!require_root()) return;
  TapNamespace ns;
  const std::string problem = ns.create();
  ASSERT_TRUE(problem.empty()) << problem;
  ns.run_inside([] {
    auto opened = Tap::open("tap0");
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    Tap& tap = **opened;
    EXPECT_EQ(tap.description(), "tap 'tap0'");
    auto offloads = tap.set_guest_offloads({.csum = true, .tso4 = true, .tso6 = true, .ufo = true});
    ASSERT_TRUE(offloads.ok()) << offloads.error().message;
    EXPECT_TRUE(offloads->csum && offloads->tso4 && offloads->tso6)
        << "any current kernel takes these";
    ASSERT_TRUE(tap.set_guest_offloads({}).ok());
    UniqueFd packet = open_packet_socket();

    // Device side to network side: a zeroed virtio_net_hdr, then the frame.
    const auto out = test_ethernet_frame(1);
    uint8_t header[12] = {};
    const iovec wiov[2] = {{header, sizeof header},
                           {const_cast<uint8_t*>(out.data()), out.size()}};
    const FrameIo written = tap.write_frame(wiov);
    ASSERT_EQ(written.status, FrameIo::Status::kDone) << std::strerror(written.error);
    EXPECT_EQ(written.bytes, 12 + out.size());
    EXPECT_EQ(receive_packet(packet.get()), out);

    // Network side to device side: the frame arrives behind a virtio_net_hdr.
    const auto in = test_ethernet_frame(2, 300);
    ASSERT_EQ(::send(packet.get(), in.data(), in.size(), 0), static_cast<ssize_t>(in.size()))
        << std::strerror(errno);
    std::vector<uint8_t> buf(12 + 2048);
    bool found = false;
    while (!found && wait_readable(tap.fd())) {
      const iovec riov[1] = {{buf.data(), buf.size()}};
      const FrameIo r = tap.read_frame(riov);
      if (r.status != FrameIo::Status::kDone) break;
      if (!has_test_ethertype(buf.data() + 12, r.bytes - 12)) continue;  // not ours
      found = true;
      ASSERT_EQ(r.bytes, 12 + in.size());
      EXPECT_EQ(buf[0], 0) << "flags: nothing to finish";
      EXPECT_EQ(buf[1], 0) << "gso_type: VIRTIO_NET_HDR_GSO_NONE";
      EXPECT_EQ(std::vector<uint8_t>(buf.begin() + 12, buf.begin() + 12 + in.size()), in);
    }
    EXPECT_TRUE(found) << "the frame sent on the packet socket never reached the tap fd";
    const iovec riov[1] = {{buf.data(), buf.size()}};
    EXPECT_EQ(tap.read_frame(riov).status, FrameIo::Status::kWouldBlock) << "non-blocking";
  });
}

TEST(TapAsRoot, VirtioNetCarriesGuestTrafficInANamespace) {
  if (!require_root()) return;
  TapNamespace ns;
  const std::string problem = ns.create();
  ASSERT_TRUE(problem.empty()) << problem;
  ns.run_inside([] {
    NetQueues q;
    RecordingRegistrar registrar;
    virtio_testing::CountingInterrupt irq;
    VirtioNetConfig config;
    config.id = "eth0";
    config.host_dev_name = "tap0";
    config.guest_mac = NetMacAddress{0x02, 0, 0, 0, 0, 0x10};
    auto net = VirtioNet::create(config, registrar);
    ASSERT_TRUE(net.ok()) << net.error().message;
    VirtioNet& dev = **net;
    auto activated = dev.activate(q.mem, kVersion1 | kMac | kCsum | kGuestCsum | kGuestTso4,
                                  q.queues(), irq);
    ASSERT_TRUE(activated.ok()) << activated.error().message;
    EXPECT_TRUE(dev.backend_offloads().csum && dev.backend_offloads().tso4);
    UniqueFd packet = open_packet_socket();

    // Guest transmit: header + frame in two descriptors.
    const auto out = test_ethernet_frame(3, 200);
    std::vector<uint8_t> chain(12, 0);
    chain.insert(chain.end(), out.begin(), out.end());
    ASSERT_TRUE(q.mem.write(0x40000, chain).ok());
    q.tx.add_chain({{0x40000, 12, false}, {0x4000c, static_cast<uint32_t>(out.size()), false}}, 0);
    ASSERT_TRUE(dev.process_queue(1).ok());
    EXPECT_EQ(q.tx.used_idx(), 1);
    EXPECT_EQ(receive_packet(packet.get()), out);
    EXPECT_EQ(dev.counters().tx_packets, 1u);

    // Guest receive: four buffers posted; the host sends one frame of ours.
    for (uint16_t i = 0; i < 4; ++i)
      q.rx.add_chain({{0x80000 + 0x1000ull * i, 2048, true}}, i);
    ASSERT_TRUE(dev.process_queue(0).ok());
    const auto in = test_ethernet_frame(4, 500);
    ASSERT_EQ(::send(packet.get(), in.data(), in.size(), 0), static_cast<ssize_t>(in.size()));
    const int tap_fd = registrar.fd_for(VirtioNet::kBackendEvent);
    bool found = false;
    uint16_t seen = 0;
    while (!found && seen < 4 && wait_readable(tap_fd)) {
      ASSERT_TRUE(dev.process_event(VirtioNet::kBackendEvent).ok());
      for (; seen < q.rx.used_idx() && !found; ++seen) {
        const uint32_t len = q.rx.used_len(seen);
        const uint64_t at = 0x80000 + 0x1000ull * q.rx.used_id(seen);
        std::vector<uint8_t> got(len);
        ASSERT_TRUE(q.mem.read(at, got).ok());
        if (len < 12 || !has_test_ethertype(got.data() + 12, len - 12)) continue;
        found = true;
        EXPECT_EQ(len, 12 + in.size());
        EXPECT_EQ(got[10], 1) << "num_buffers";
        EXPECT_EQ(got[11], 0);
        EXPECT_EQ(std::vector<uint8_t>(got.begin() + 12, got.end()), in);
      }
    }
    EXPECT_TRUE(found) << "the host's frame never reached the guest";
    EXPECT_GE(dev.counters().rx_packets, 1u);
    EXPECT_GE(irq.used, 2);
  });
}

}  // namespace
}  // namespace ember
