// The decisions of building a VM, pinned without /dev/kvm: memory layout, virtio device order,
// windows and interrupts, the kernel command line and the setup header's limits.
#include "vmm/vm_plan.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace ember {
namespace {

DriveConfig drive(const std::string& id, bool root = false) {
  DriveConfig d;
  d.drive_id = id;
  d.path_on_host = "/images/" + id + ".ext4";
  d.is_root_device = root;
  return d;
}

NetworkInterfaceConfig iface(const std::string& id) {
  NetworkInterfaceConfig n;
  n.iface_id = id;
  n.host_dev_name = "tap_" + id;
  return n;
}

TEST(VmPlan, MemoryBelowTheMmioHoleIsOneRegion) {
  VmConfig cfg;
  cfg.machine.mem_size_mib = 128;
  auto plan = plan_vm(cfg);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->memory_regions, (std::vector<MemoryRegionSpec>{{0, 128ull << 20}}));
}

TEST(VmPlan, MemoryPastTheMmioHoleContinuesAtFourGiB) {
  VmConfig cfg;
  cfg.machine.mem_size_mib = 4096;
  auto plan = plan_vm(cfg);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->memory_regions,
            (std::vector<MemoryRegionSpec>{{0, 0xd0000000}, {0x100000000, (4096ull << 20) - 0xd0000000}}));
}

TEST(VmPlan, NoDevicesNoRootArgument) {
  auto plan = plan_vm(VmConfig{});
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_TRUE(plan->virtio_devices.empty());
  EXPECT_EQ(plan->root_arg, "");
}

TEST(VmPlan, RootDriveFirstThenDrivesThenInterfacesThenVsock) {
  VmConfig cfg;
  cfg.drives = {drive("data"), drive("rootfs", /*root=*/true), drive("scratch")};
  cfg.network_interfaces = {iface("eth0"), iface("eth1")};
  cfg.vsock = VsockConfig{};
  auto plan = plan_vm(cfg);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  // One 4 KiB window each from 0xd0001000 (the boot timer has 0xd0000000), GSIs from 5.
  const std::vector<VirtioDevicePlan> want = {
      {VirtioKind::kBlock, 1, "drive rootfs", 0xd0001000, 0x1000, 5},
      {VirtioKind::kBlock, 0, "drive data", 0xd0002000, 0x1000, 6},
      {VirtioKind::kBlock, 2, "drive scratch", 0xd0003000, 0x1000, 7},
      {VirtioKind::kNet, 0, "net eth0", 0xd0004000, 0x1000, 8},
      {VirtioKind::kNet, 1, "net eth1", 0xd0005000, 0x1000, 9},
      {VirtioKind::kVsock, 0, "vsock", 0xd0006000, 0x1000, 10},
  };
  EXPECT_EQ(plan->virtio_devices, want);
  EXPECT_EQ(plan->root_arg, "root=/dev/vda rw");
}

TEST(VmPlan, WithoutARootDriveDrivesKeepTheirOrder) {
  VmConfig cfg;
  cfg.drives = {drive("b"), drive("a")};
  auto plan = plan_vm(cfg);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  ASSERT_EQ(plan->virtio_devices.size(), 2u);
  EXPECT_EQ(plan->virtio_devices[0].id, "drive b");
  EXPECT_EQ(plan->virtio_devices[1].id, "drive a");
  EXPECT_EQ(plan->root_arg, "");
}

TEST(VmPlan, ReadOnlyRootByPartuuid) {
  VmConfig cfg;
  cfg.drives = {drive("rootfs", /*root=*/true)};
  cfg.drives[0].is_read_only = true;
  cfg.drives[0].partuuid = "0eaa91a0-01";
  auto plan = plan_vm(cfg);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->root_arg, "root=PARTUUID=0eaa91a0-01 ro");
}

TEST(VmPlan, ReadOnlyRootWithoutPartuuid) {
  VmConfig cfg;
  cfg.drives = {drive("rootfs", /*root=*/true)};
  cfg.drives[0].is_read_only = true;
  auto plan = plan_vm(cfg);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->root_arg, "root=/dev/vda ro");
}

TEST(VmPlan, TwoRootDrivesAreRefused) {
  VmConfig cfg;
  cfg.drives = {drive("a", true), drive("b", true)};
  auto plan = plan_vm(cfg);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().message, "drives: more than one drive has is_root_device set");
}

TEST(VmPlan, NineteenDevicesFillTheIoapic) {
  VmConfig cfg;
  for (int i = 0; i < 19; ++i) cfg.drives.push_back(drive("d" + std::to_string(i)));
  auto plan = plan_vm(cfg);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  ASSERT_EQ(plan->virtio_devices.size(), 19u);
  EXPECT_EQ(plan->virtio_devices.back().gsi, 23u);
  EXPECT_EQ(plan->virtio_devices.back().mmio_base, 0xd0013000u);
}

TEST(VmPlan, TheTwentiethDeviceIsRefusedByName) {
  VmConfig cfg;
  for (int i = 0; i < 19; ++i) cfg.drives.push_back(drive("d" + std::to_string(i)));
  cfg.network_interfaces = {iface("eth0")};
  auto plan = plan_vm(cfg);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().message, "net eth0: too many virtio devices (at most 19)");
}

TEST(KernelCmdline, DefaultsWithoutBootArgs) {
  VmConfig cfg;
  cfg.drives = {drive("rootfs", /*root=*/true)};
  auto plan = plan_vm(cfg);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(kernel_cmdline(BootSourceConfig{}, *plan),
            "console=ttyS0 reboot=k panic=1 pci=off nomodule i8042.noaux i8042.nomux i8042.dumbkbd "
            "root=/dev/vda rw");
}

TEST(KernelCmdline, BootArgsAsGivenWithoutARootDrive) {
  BootSourceConfig boot;
  boot.boot_args = "console=ttyS0 quiet";
  auto plan = plan_vm(VmConfig{});
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(kernel_cmdline(boot, *plan), "console=ttyS0 quiet");
}

TEST(KernelCmdline, EmptyBootArgsStillGetTheRootArgument) {
  BootSourceConfig boot;
  boot.boot_args = "";
  VmConfig cfg;
  cfg.drives = {drive("rootfs", /*root=*/true)};
  auto plan = plan_vm(cfg);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(kernel_cmdline(boot, *plan), " root=/dev/vda rw");
}

// Offsets in the setup header, which starts at 0x1f1 of a bzImage (boot.rst).
constexpr size_t kInitrdAddrMax = 0x22c - 0x1f1;
constexpr size_t kCmdlineSize = 0x238 - 0x1f1;

void put_u32(std::vector<uint8_t>& header, size_t offset, uint32_t value) {
  std::memcpy(header.data() + offset, &value, 4);
}

TEST(KernelLimits, NoSetupHeaderGetsTheWholeCmdlineArea) {
  EXPECT_EQ(kernel_limits({}), (KernelLimits{0x7fffffff, 4096}));
}

TEST(KernelLimits, FieldsReadFromTheHeader) {
  std::vector<uint8_t> header(kCmdlineSize + 4, 0);
  put_u32(header, kInitrdAddrMax, 0x37ffffff);
  put_u32(header, kCmdlineSize, 2047);
  EXPECT_EQ(kernel_limits(header), (KernelLimits{0x37ffffff, 2048}));
}

TEST(KernelLimits, AHeaderTooShortForCmdlineSizeMeans255Characters) {
  std::vector<uint8_t> header(kCmdlineSize + 3, 0);
  put_u32(header, kInitrdAddrMax, 0x37ffffff);
  EXPECT_EQ(kernel_limits(header), (KernelLimits{0x37ffffff, 256}));
}

TEST(KernelLimits, AHeaderTooShortForInitrdAddrMax) {
  std::vector<uint8_t> header(kInitrdAddrMax + 3, 0);
  EXPECT_EQ(kernel_limits(header), (KernelLimits{0x7fffffff, 256}));
}

}  // namespace
}  // namespace ember
