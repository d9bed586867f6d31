#include "vmm/snapshot/microvm_state.h"

#include <optional>

#include "base/byte_codec.h"

namespace ember {
namespace {

// Each section starts with a tag, so that a state from a different layout fails at the first
// section that moved, with its name, rather than as garbage further on.
enum Section : uint32_t {
  kSectionConfig = 0x47464e43,   // "CNFG"
  kSectionMemory = 0x204d454d,   // "MEM "
  kSectionVm = 0x204d5620,       // " VM "
  kSectionVcpus = 0x55504356,    // "VCPU"
  kSectionLegacy = 0x5943474c,   // "LGCY"
  kSectionVirtio = 0x4f495456,   // "VTIO"
  kSectionMmds = 0x53444d4d,     // "MMDS": only when the VM has an MMDS config
  kSectionEnd = 0x21444e45,      // "END!"
};

constexpr size_t kMaxPath = 4096;
constexpr size_t kMaxString = 4096;
constexpr uint32_t kMaxDevices = 64;
constexpr uint32_t kMaxRegions = 16;
constexpr uint32_t kMaxQueues = 64;
constexpr size_t kMaxDeviceState = 1 << 20;

Result<void> expect_section(ByteReader& in, Section tag, const char* name) {
  ASSIGN_OR_RETURN(uint32_t got, in.u32(name));
  if (got != tag) return make_error(std::string("snapshot state: the ") + name + " section is missing or out of place");
  return {};
}

template <class T, class Encode>
void optional_field(ByteWriter& out, const std::optional<T>& v, const Encode& encode) {
  out.boolean(v.has_value());
  if (v) encode(*v);
}

template <class T, class Decode>
Result<std::optional<T>> read_optional(ByteReader& in, const char* what, const Decode& decode) {
  ASSIGN_OR_RETURN(bool present, in.boolean(what));
  if (!present) return std::optional<T>();
  ASSIGN_OR_RETURN(T v, decode());
  return std::optional<T>(std::move(v));
}

void encode_bucket(ByteWriter& out, const TokenBucketConfig& b) {
  out.u64(b.size);
  out.u64(b.one_time_burst);
  out.u64(b.refill_time_ms);
}

Result<TokenBucketConfig> decode_bucket(ByteReader& in) {
  TokenBucketConfig b;
  ASSIGN_OR_RETURN(b.size, in.u64("token bucket size"));
  ASSIGN_OR_RETURN(b.one_time_burst, in.u64("token bucket one_time_burst"));
  ASSIGN_OR_RETURN(b.refill_time_ms, in.u64("token bucket refill_time"));
  return b;
}

void encode_limiter(ByteWriter& out, const std::optional<RateLimiterConfig>& l) {
  optional_field(out, l, [&](const RateLimiterConfig& c) {
    optional_field(out, c.bandwidth, [&](const TokenBucketConfig& b) { encode_bucket(out, b); });
    optional_field(out, c.ops, [&](const TokenBucketConfig& b) { encode_bucket(out, b); });
  });
}

Result<std::optional<RateLimiterConfig>> decode_limiter(ByteReader& in) {
  return read_optional<RateLimiterConfig>(in, "rate limiter", [&]() -> Result<RateLimiterConfig> {
    RateLimiterConfig c;
    ASSIGN_OR_RETURN(c.bandwidth, read_optional<TokenBucketConfig>(in, "bandwidth", [&] { return decode_bucket(in); }));
    ASSIGN_OR_RETURN(c.ops, read_optional<TokenBucketConfig>(in, "ops", [&] { return decode_bucket(in); }));
    return c;
  });
}

Result<std::string> decode_path(ByteReader& in, const char* what) {
  ASSIGN_OR_RETURN(std::string p, in.str(what, kMaxPath));
  if (p.empty() || p.find('\0') != std::string::npos)
    return make_error(std::string("snapshot state: ") + what + " is empty or holds a NUL byte");
  return p;
}

Result<std::string> decode_id(ByteReader& in, const char* what) {
  ASSIGN_OR_RETURN(std::string id, in.str(what, kMaxString));
  if (!is_valid_device_id(id)) return make_error(std::string("snapshot state: ") + what + " is not a valid id");
  return id;
}

void encode_config(ByteWriter& out, const VmConfig& c) {
  optional_field(out, c.boot_source, [&](const BootSourceConfig& b) {
    out.str(b.kernel_image_path);
    optional_field(out, b.boot_args, [&](const std::string& s) { out.str(s); });
    optional_field(out, b.initrd_path, [&](const std::string& s) { out.str(s); });
  });
  out.u32(c.machine.vcpu_count);
  out.u64(c.machine.mem_size_mib);
  out.boolean(c.machine.smt);
  out.boolean(c.machine.track_dirty_pages);
  out.u32(static_cast<uint32_t>(c.drives.size()));
  for (const DriveConfig& d : c.drives) {
    out.str(d.drive_id);
    out.str(d.path_on_host);
    out.boolean(d.is_root_device);
    out.boolean(d.is_read_only);
    optional_field(out, d.partuuid, [&](const std::string& s) { out.str(s); });
    out.u8(d.cache_type == DriveCacheType::kWriteback ? 1 : 0);
    out.u8(d.io_engine == DriveIoEngine::kAsync ? 1 : 0);
    encode_limiter(out, d.rate_limiter);
  }
  out.u32(static_cast<uint32_t>(c.network_interfaces.size()));
  for (const NetworkInterfaceConfig& n : c.network_interfaces) {
    out.str(n.iface_id);
    out.str(n.host_dev_name);
    optional_field(out, n.guest_mac, [&](const MacAddress& m) { out.pod(m); });
    optional_field(out, n.mtu, [&](uint16_t m) { out.u16(m); });
    encode_limiter(out, n.rx_rate_limiter);
    encode_limiter(out, n.tx_rate_limiter);
  }
  optional_field(out, c.vsock, [&](const VsockConfig& v) {
    out.u32(v.guest_cid);
    out.str(v.uds_path);
    optional_field(out, v.vsock_id, [&](const std::string& s) { out.str(s); });
  });
}

Result<VmConfig> decode_config(ByteReader& in) {
  VmConfig c;
  ASSIGN_OR_RETURN(c.boot_source, read_optional<BootSourceConfig>(in, "boot source", [&]() -> Result<BootSourceConfig> {
    BootSourceConfig b;
    ASSIGN_OR_RETURN(b.kernel_image_path, in.str("kernel path", kMaxPath));
    ASSIGN_OR_RETURN(b.boot_args, read_optional<std::string>(in, "boot args", [&] { return in.str("boot args", kMaxString); }));
    ASSIGN_OR_RETURN(b.initrd_path, read_optional<std::string>(in, "initrd path", [&] { return in.str("initrd path", kMaxPath); }));
    return b;
  }));
  ASSIGN_OR_RETURN(c.machine.vcpu_count, in.u32("vcpu_count"));
  ASSIGN_OR_RETURN(c.machine.mem_size_mib, in.u64("mem_size_mib"));
  ASSIGN_OR_RETURN(c.machine.smt, in.boolean("smt"));
  ASSIGN_OR_RETURN(c.machine.track_dirty_pages, in.boolean("track_dirty_pages"));

  ASSIGN_OR_RETURN(uint32_t drives, in.count("drive count", 8, kMaxDevices));
  for (uint32_t i = 0; i < drives; ++i) {
    DriveConfig d;
    ASSIGN_OR_RETURN(d.drive_id, decode_id(in, "drive_id"));
    ASSIGN_OR_RETURN(d.path_on_host, decode_path(in, "drive path_on_host"));
    ASSIGN_OR_RETURN(d.is_root_device, in.boolean("is_root_device"));
    ASSIGN_OR_RETURN(d.is_read_only, in.boolean("is_read_only"));
    ASSIGN_OR_RETURN(d.partuuid, read_optional<std::string>(in, "partuuid", [&] { return in.str("partuuid", 64); }));
    ASSIGN_OR_RETURN(bool writeback, in.boolean("cache_type"));
    d.cache_type = writeback ? DriveCacheType::kWriteback : DriveCacheType::kUnsafe;
    ASSIGN_OR_RETURN(bool async, in.boolean("io_engine"));
    d.io_engine = async ? DriveIoEngine::kAsync : DriveIoEngine::kSync;
    ASSIGN_OR_RETURN(d.rate_limiter, decode_limiter(in));
    c.drives.push_back(std::move(d));
  }
  ASSIGN_OR_RETURN(uint32_t ifaces, in.count("network interface count", 8, kMaxDevices));
  for (uint32_t i = 0; i < ifaces; ++i) {
    NetworkInterfaceConfig n;
    ASSIGN_OR_RETURN(n.iface_id, decode_id(in, "iface_id"));
    ASSIGN_OR_RETURN(n.host_dev_name, in.str("host_dev_name", 15));
    ASSIGN_OR_RETURN(n.guest_mac, read_optional<MacAddress>(in, "guest_mac", [&] { return in.pod<MacAddress>("guest_mac"); }));
    ASSIGN_OR_RETURN(n.mtu, read_optional<uint16_t>(in, "mtu", [&] { return in.u16("mtu"); }));
    ASSIGN_OR_RETURN(n.rx_rate_limiter, decode_limiter(in));
    ASSIGN_OR_RETURN(n.tx_rate_limiter, decode_limiter(in));
    c.network_interfaces.push_back(std::move(n));
  }
  ASSIGN_OR_RETURN(c.vsock, read_optional<VsockConfig>(in, "vsock", [&]() -> Result<VsockConfig> {
    VsockConfig v;
    ASSIGN_OR_RETURN(v.guest_cid, in.u32("vsock guest_cid"));
    ASSIGN_OR_RETURN(v.uds_path, decode_path(in, "vsock uds_path"));
    ASSIGN_OR_RETURN(v.vsock_id, read_optional<std::string>(in, "vsock_id", [&] { return in.str("vsock_id", kMaxString); }));
    return v;
  }));
  return c;
}

void encode_transport(ByteWriter& out, const VirtioMmioTransport::State& t) {
  out.u32(t.status);
  out.u64(t.acked_features);
  out.u32(t.device_features_sel);
  out.u32(t.driver_features_sel);
  out.u32(t.queue_sel);
  out.u32(t.interrupt_status);
  out.u32(t.config_generation);
  out.pods(t.queues);
  out.bytes(t.device_state);
}

Result<VirtioMmioTransport::State> decode_transport(ByteReader& in) {
  VirtioMmioTransport::State t;
  ASSIGN_OR_RETURN(t.status, in.u32("virtio status"));
  ASSIGN_OR_RETURN(t.acked_features, in.u64("virtio acked features"));
  ASSIGN_OR_RETURN(t.device_features_sel, in.u32("virtio DeviceFeaturesSel"));
  ASSIGN_OR_RETURN(t.driver_features_sel, in.u32("virtio DriverFeaturesSel"));
  ASSIGN_OR_RETURN(t.queue_sel, in.u32("virtio QueueSel"));
  ASSIGN_OR_RETURN(t.interrupt_status, in.u32("virtio InterruptStatus"));
  ASSIGN_OR_RETURN(t.config_generation, in.u32("virtio ConfigGeneration"));
  ASSIGN_OR_RETURN(t.queues, in.pods<VirtQueue::State>("virtio queue state", kMaxQueues));
  ASSIGN_OR_RETURN(t.device_state, in.bytes("virtio device state", kMaxDeviceState));
  return t;
}

}  // namespace

std::vector<uint8_t> encode_microvm_state(const MicrovmState& s) {
  ByteWriter out;
  out.str(s.ember_version);
  out.u32(kSectionConfig);
  encode_config(out, s.config);
  out.u32(kSectionMemory);
  out.u32(static_cast<uint32_t>(s.memory_regions.size()));
  for (const auto& r : s.memory_regions) {
    out.u64(r.guest_addr);
    out.u64(r.size);
  }
  out.u32(kSectionVm);
  encode_vm_state(out, s.vm);
  out.u32(kSectionVcpus);
  out.u32(static_cast<uint32_t>(s.vcpus.size()));
  for (const auto& v : s.vcpus) encode_vcpu_state(out, v);
  out.u32(kSectionLegacy);
  out.pod(s.serial);
  out.pod(s.i8042);
  out.u32(kSectionVirtio);
  out.u32(static_cast<uint32_t>(s.virtio.size()));
  for (const auto& d : s.virtio) {
    out.str(d.id);
    out.u32(d.device_type);
    encode_transport(out, d.transport);
  }
  // Firecracker keeps the MMDS version, address and interfaces across a snapshot (not the data
  // store). A section of its own, after the devices, so that a snapshot without one (or from
  // before it existed) reads as before.
  if (s.config.mmds) {
    const MmdsConfig& m = *s.config.mmds;
    out.u32(kSectionMmds);
    out.u8(m.version == MmdsVersion::kV2 ? 2 : 1);
    out.boolean(m.imds_compat);
    optional_field(out, m.ipv4_address, [&](const Ipv4Octets& a) { out.pod(a); });
    out.u32(static_cast<uint32_t>(m.network_interfaces.size()));
    for (const std::string& id : m.network_interfaces) out.str(id);
  }
  out.u32(kSectionEnd);
  return out.take();
}

Result<MicrovmState> decode_microvm_state(std::span<const uint8_t> payload) {
  ByteReader in(payload);
  MicrovmState s;
  ASSIGN_OR_RETURN(s.ember_version, in.str("ember version", 64));
  TRY(expect_section(in, kSectionConfig, "configuration"));
  ASSIGN_OR_RETURN(s.config, decode_config(in));
  TRY(expect_section(in, kSectionMemory, "memory layout"));
  ASSIGN_OR_RETURN(uint32_t regions, in.count("memory region count", 16, kMaxRegions));
  for (uint32_t i = 0; i < regions; ++i) {
    MemoryRegionSpec r{};
    ASSIGN_OR_RETURN(r.guest_addr, in.u64("memory region address"));
    ASSIGN_OR_RETURN(r.size, in.u64("memory region size"));
    s.memory_regions.push_back(r);
  }
  TRY(expect_section(in, kSectionVm, "VM"));
  ASSIGN_OR_RETURN(s.vm, decode_vm_state(in));
  TRY(expect_section(in, kSectionVcpus, "vCPUs"));
  ASSIGN_OR_RETURN(uint32_t vcpus, in.count("vCPU count", 64, kMaxVcpus));
  if (vcpus == 0 || vcpus != s.config.machine.vcpu_count)
    return make_error("snapshot state holds " + std::to_string(vcpus) + " vCPUs, its machine config says " +
                      std::to_string(s.config.machine.vcpu_count));
  for (uint32_t i = 0; i < vcpus; ++i) {
    auto v = decode_vcpu_state(in);
    if (!v) return with_context("vCPU " + std::to_string(i), v.error());
    s.vcpus.push_back(std::move(v).value());
  }
  TRY(expect_section(in, kSectionLegacy, "legacy devices"));
  ASSIGN_OR_RETURN(s.serial, in.pod<Serial::State>("serial port state"));
  ASSIGN_OR_RETURN(s.i8042, in.pod<I8042::State>("i8042 state"));
  TRY(expect_section(in, kSectionVirtio, "virtio devices"));
  ASSIGN_OR_RETURN(uint32_t devices, in.count("virtio device count", 16, kMaxDevices));
  for (uint32_t i = 0; i < devices; ++i) {
    VirtioDeviceSnapshot d;
    ASSIGN_OR_RETURN(d.id, in.str("virtio device id", kMaxString));
    ASSIGN_OR_RETURN(d.device_type, in.u32("virtio device type"));
    auto t = decode_transport(in);
    if (!t) return with_context("virtio device '" + d.id + "'", t.error());
    d.transport = std::move(t).value();
    s.virtio.push_back(std::move(d));
  }
  ASSIGN_OR_RETURN(uint32_t next, in.u32("section"));
  if (next == kSectionMmds) {
    MmdsConfig m;
    ASSIGN_OR_RETURN(const uint8_t version, in.u8("MMDS version"));
    if (version != 1 && version != 2) return make_error("snapshot state has MMDS version " + std::to_string(version));
    m.version = version == 2 ? MmdsVersion::kV2 : MmdsVersion::kV1;
    ASSIGN_OR_RETURN(m.imds_compat, in.boolean("MMDS imds_compat"));
    ASSIGN_OR_RETURN(m.ipv4_address, read_optional<Ipv4Octets>(in, "MMDS ipv4_address", [&] { return in.pod<Ipv4Octets>("MMDS ipv4_address"); }));
    ASSIGN_OR_RETURN(uint32_t ifaces, in.count("MMDS interface count", 8, kMaxDevices));
    for (uint32_t i = 0; i < ifaces; ++i) {
      ASSIGN_OR_RETURN(std::string id, decode_id(in, "MMDS network interface"));
      m.network_interfaces.push_back(std::move(id));
    }
    s.config.mmds = std::move(m);
    ASSIGN_OR_RETURN(next, in.u32("section"));
  }
  if (next != kSectionEnd) return make_error("snapshot state: the end section is missing or out of place");
  TRY(in.expect_end());
  return s;
}

}  // namespace ember
