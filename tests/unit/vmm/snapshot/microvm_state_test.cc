#include "vmm/snapshot/microvm_state.h"

#include <gtest/gtest.h>

#include "base/byte_codec.h"

namespace ember {
namespace {

MicrovmState sample(uint32_t vcpus = 2) {
  MicrovmState s;
  s.ember_version = "0.1.0";
  s.config.boot_source = BootSourceConfig{"/vmlinux", std::string("console=ttyS0"), std::nullopt};
  s.config.machine.vcpu_count = vcpus;
  s.config.machine.mem_size_mib = 256;
  s.config.machine.track_dirty_pages = true;
  DriveConfig d;
  d.drive_id = "rootfs";
  d.path_on_host = "/images/rootfs.ext4";
  d.is_root_device = true;
  d.partuuid = "0eaa91a0-01";
  d.io_engine = DriveIoEngine::kAsync;
  d.rate_limiter = RateLimiterConfig{TokenBucketConfig{1 << 20, 0, 1000}, TokenBucketConfig{100, 10, 1000}};
  s.config.drives.push_back(d);
  NetworkInterfaceConfig n;
  n.iface_id = "eth0";
  n.host_dev_name = "tap0";
  n.guest_mac = MacAddress{2, 0xfc, 0, 0, 0, 5};
  n.mtu = 1500;
  n.tx_rate_limiter = RateLimiterConfig{std::nullopt, TokenBucketConfig{5, 0, 10}};
  s.config.network_interfaces.push_back(n);
  s.config.vsock = VsockConfig{3, "/tmp/v.sock", std::nullopt};
  s.memory_regions = {{0, 256ull << 20}};
  s.vm.pic_master.chip_id = KVM_IRQCHIP_PIC_MASTER;
  s.vm.pic_slave.chip_id = KVM_IRQCHIP_PIC_SLAVE;
  s.vm.ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
  s.vm.clock.clock = 123456789;
  for (uint32_t i = 0; i < vcpus; ++i) {
    VcpuState v;
    v.cpuid.resize(3);
    v.cpuid[1].function = 0xb;
    v.regs.rip = 0x100000 + i;
    v.sregs.cr3 = 0x9000;
    v.xsave.assign(4096, static_cast<uint8_t>(i));
    v.lapic.regs[0x20] = static_cast<char>(i);
    v.msrs = {{0x10, 0, 42}, {0x6e0, 0, 43}};
    v.events.exception.nr = 3;
    s.vcpus.push_back(v);
  }
  s.serial.ier = 1;
  s.i8042.control = 0x47;
  VirtioDeviceSnapshot dev;
  dev.id = "drive rootfs";
  dev.device_type = 2;
  dev.transport.status = 0xf;
  dev.transport.acked_features = 1ull << 32;
  dev.transport.queues.resize(1);
  dev.transport.queues[0].size = 256;
  dev.transport.queues[0].ready = 1;
  dev.transport.queues[0].next_avail = 17;
  dev.transport.device_state = {9, 8, 7};
  s.virtio.push_back(dev);
  return s;
}

TEST(MicrovmState, RoundTripsEveryPart) {
  const MicrovmState s = sample();
  const auto bytes = encode_microvm_state(s);
  auto back = decode_microvm_state(bytes);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(encode_microvm_state(*back), bytes);
  EXPECT_EQ(back->config.drives.at(0).partuuid, "0eaa91a0-01");
  EXPECT_EQ(back->config.drives.at(0).io_engine, DriveIoEngine::kAsync);
  EXPECT_EQ(back->config.drives.at(0).rate_limiter->ops->one_time_burst, 10u);
  EXPECT_EQ(back->config.network_interfaces.at(0).guest_mac->at(1), 0xfc);
  EXPECT_FALSE(back->config.network_interfaces.at(0).rx_rate_limiter.has_value());
  EXPECT_EQ(back->config.vsock->uds_path, "/tmp/v.sock");
  EXPECT_EQ(back->vcpus.at(1).regs.rip, 0x100001u);
  EXPECT_EQ(back->vcpus.at(1).xsave.at(100), 1);
  EXPECT_EQ(back->vcpus.at(0).msrs.at(1).data, 43u);
  EXPECT_EQ(back->vm.clock.clock, 123456789u);
  EXPECT_EQ(back->i8042.control, 0x47);
  EXPECT_EQ(back->virtio.at(0).transport.queues.at(0).next_avail, 17);
  EXPECT_EQ(back->virtio.at(0).transport.device_state, (std::vector<uint8_t>{9, 8, 7}));
}

TEST(MicrovmState, KeepsTheMmdsConfigAndReadsStatesWithoutOne) {
  MicrovmState s = sample();
  const auto without = encode_microvm_state(s);
  s.config.mmds = MmdsConfig{MmdsVersion::kV2, {"eth0"}, Ipv4Octets{169, 254, 170, 2}, true};
  const auto with = encode_microvm_state(s);
  EXPECT_GT(with.size(), without.size());
  auto back = decode_microvm_state(with);
  ASSERT_TRUE(back.ok()) << back.error().message;
  ASSERT_TRUE(back->config.mmds.has_value());
  EXPECT_EQ(*back->config.mmds, *s.config.mmds);
  auto plain = decode_microvm_state(without);
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_FALSE(plain->config.mmds.has_value()) << "a state without the section has no MMDS";
  // A bad version byte or interface id is refused; so is every truncation of the section.
  s.config.mmds->network_interfaces = {"../x"};
  EXPECT_FALSE(decode_microvm_state(encode_microvm_state(s)).ok());
  for (size_t n = without.size() - 4; n < with.size(); ++n)
    EXPECT_FALSE(decode_microvm_state(std::span<const uint8_t>(with).first(n)).ok()) << n;
  auto bad_version = with;
  bad_version[without.size() - 4 + 4] = 3;  // right after the section tag
  EXPECT_FALSE(decode_microvm_state(bad_version).ok());
}

TEST(MicrovmState, EveryTruncationIsRefused) {
  const auto bytes = encode_microvm_state(sample(1));
  for (size_t n = 0; n < bytes.size(); n += 53) {
    auto r = decode_microvm_state(std::span<const uint8_t>(bytes).first(n));
    EXPECT_FALSE(r.ok()) << n;
  }
  auto longer = bytes;
  longer.push_back(0);
  EXPECT_FALSE(decode_microvm_state(longer).ok());
}

TEST(MicrovmState, RefusesAVcpuCountOtherThanTheMachineConfig) {
  MicrovmState s = sample(2);
  s.config.machine.vcpu_count = 3;
  auto r = decode_microvm_state(encode_microvm_state(s));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("vCPUs"), std::string::npos) << r.error().message;
}

TEST(MicrovmState, RefusesBadIdsAndPaths) {
  MicrovmState s = sample(1);
  s.config.drives[0].drive_id = "../etc";
  EXPECT_FALSE(decode_microvm_state(encode_microvm_state(s)).ok());
  s = sample(1);
  s.config.vsock->uds_path = std::string("a\0b", 3);
  EXPECT_FALSE(decode_microvm_state(encode_microvm_state(s)).ok());
}

TEST(MicrovmState, RefusesInterruptControllersOutOfOrder) {
  MicrovmState s = sample(1);
  std::swap(s.vm.pic_master, s.vm.ioapic);
  auto r = decode_microvm_state(encode_microvm_state(s));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("IOAPIC"), std::string::npos);
}

TEST(MicrovmState, NamesTheSectionThatMoved) {
  auto bytes = encode_microvm_state(sample(1));
  // The config section's tag follows the version string (u32 length + bytes).
  const size_t tag = 4 + std::string("0.1.0").size();
  bytes[tag] ^= 0xff;
  auto r = decode_microvm_state(bytes);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("configuration section"), std::string::npos) << r.error().message;
}

TEST(VcpuStateCodec, RefusesASmallXsaveArea) {
  VcpuState v;
  v.xsave.resize(100);
  ByteWriter w;
  encode_vcpu_state(w, v);
  ByteReader r(w.data());
  auto back = decode_vcpu_state(r);
  ASSERT_FALSE(back.ok());
  EXPECT_NE(back.error().message.find("XSAVE"), std::string::npos);
}

}  // namespace
}  // namespace ember
