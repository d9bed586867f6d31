#include "api/body_parsers.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <set>
#include <utility>

#include "api/json_fields.h"
#include "mmds/ipv4_address.h"

namespace ember::api_detail {
namespace {

using json = nlohmann::json;

Result<JsonFields> object_fields(const json& value, std::string where) {
  if (!value.is_object())
    return deserialize_error("invalid type: " + serde_unexpected(value) + ", expected a map (" + where + ")");
  return JsonFields(value, std::move(where));
}

// One accepted spelling of an enum field and the value it stands for.
template <class E>
struct EnumName {
  std::string_view name;
  E value;
};

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

enum class Case { kSensitive, kInsensitive };

template <class E, size_t N>
Result<std::optional<E>> optional_enum(const JsonFields& f, std::string_view key,
                                       const EnumName<E> (&names)[N], Case match = Case::kSensitive) {
  ASSIGN_OR_RETURN(std::optional<std::string> text, f.optional_string(key));
  if (!text) return std::optional<E>();
  std::vector<std::string_view> choices;
  for (const EnumName<E>& n : names) {
    const bool same = match == Case::kSensitive ? n.name == *text : equal_ignoring_case(n.name, *text);
    if (same) return std::optional<E>(n.value);
    choices.push_back(n.name);
  }
  // serde's wording for an enum (Firecracker's tests match "unknown variant `foo`, expected
  // `File` or `Uffd`").
  return deserialize_error("unknown variant `" + printable(*text) +
                           "`, expected " + serde_one_of(choices) + " (" + f.name(key) + ")");
}

template <class E, size_t N>
Result<E> required_enum(const JsonFields& f, std::string_view key, const EnumName<E> (&names)[N]) {
  ASSIGN_OR_RETURN(std::optional<E> value, optional_enum(f, key, names));
  if (!value) return f.missing(key);
  return *value;
}

// The ids of drives and interfaces end up in file names, metrics keys and log lines.
Result<std::string> id_field(const JsonFields& f, std::string_view key) {
  ASSIGN_OR_RETURN(std::string id, f.string(key));
  if (!is_valid_id(id))
    return make_error("API Resource IDs can only contain alphanumeric characters and underscores. (" + f.name(key) +
                      " " + quote_value(id) + ": use 1 to 64 letters, digits or underscores)");
  return id;
}

// Linux's rules for an interface name (dev_valid_name): shorter than IFNAMSIZ (16), not "." or
// "..", no '/', ':' or white space.
Result<std::string> host_dev_name_field(const JsonFields& f, std::string_view key) {
  ASSIGN_OR_RETURN(std::string name, f.string(key));
  bool ok = !name.empty() && name.size() < 16 && name != "." && name != "..";
  for (char c : name) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '/' || c == ':' || u <= 0x20 || u >= 0x7f) ok = false;
  }
  if (!ok)
    return make_error(f.name(key) + " " + quote_value(name) +
                      " is not a valid host interface name (1 to 15 characters, no '/', ':' or spaces)");
  return name;
}

Result<TokenBucketConfig> parse_token_bucket(const json& value, const std::string& where) {
  ASSIGN_OR_RETURN(JsonFields f, object_fields(value, where));
  TRY(f.allow_only({"size", "one_time_burst", "refill_time"}));
  TokenBucketConfig bucket;
  ASSIGN_OR_RETURN(bucket.size, f.unsigned_integer("size"));
  ASSIGN_OR_RETURN(std::optional<uint64_t> burst, f.optional_unsigned_integer("one_time_burst"));
  bucket.one_time_burst = burst.value_or(0);
  ASSIGN_OR_RETURN(bucket.refill_time_ms, f.unsigned_integer("refill_time"));
  return bucket;
}

Result<std::optional<RateLimiterConfig>> optional_rate_limiter(const JsonFields& parent, std::string_view key) {
  ASSIGN_OR_RETURN(const json* value, parent.optional_object(key));
  if (value == nullptr) return std::optional<RateLimiterConfig>();
  const std::string where = parent.name(key);
  JsonFields f(*value, where);
  TRY(f.allow_only({"bandwidth", "ops"}));
  RateLimiterConfig limiter;
  ASSIGN_OR_RETURN(const json* bandwidth, f.optional_object("bandwidth"));
  if (bandwidth != nullptr) {
    ASSIGN_OR_RETURN(limiter.bandwidth, parse_token_bucket(*bandwidth, f.name("bandwidth")));
  }
  ASSIGN_OR_RETURN(const json* ops, f.optional_object("ops"));
  if (ops != nullptr) { ASSIGN_OR_RETURN(limiter.ops, parse_token_bucket(*ops, f.name("ops"))); }
  return std::optional<RateLimiterConfig>(std::move(limiter));
}

// The yaml: vcpu_count in [1, 32]. The byte count (mem_size_mib << 20) must fit 64 bits; the
// host's own limit is the VMM's to check.
Result<std::optional<uint32_t>> optional_vcpu_count(const JsonFields& f) {
  ASSIGN_OR_RETURN(std::optional<uint64_t> n, f.optional_unsigned_integer("vcpu_count"));
  if (!n) return std::optional<uint32_t>();
  if (*n < 1 || *n > kMaxVcpus)
    // Firecracker's MachineConfigError::InvalidVcpuCount.
    return make_error("Machine config error: The number of vCPUs must be greater than 0, less than " +
                      std::to_string(kMaxVcpus) +
                      " and must be 1 or an even number if SMT is enabled. (machine-config.vcpu_count: got " +
                      std::to_string(*n) + ")");
  return std::optional<uint32_t>(static_cast<uint32_t>(*n));
}

Result<std::optional<uint64_t>> optional_mem_size_mib(const JsonFields& f) {
  ASSIGN_OR_RETURN(std::optional<uint64_t> n, f.optional_unsigned_integer("mem_size_mib"));
  if (!n) return n;
  // Firecracker's MachineConfigError::InvalidMemorySize.
  if (*n < 1)
    return make_error("Machine config error: The memory size (MiB) is either 0, or not a multiple of the "
                      "configured page size. (machine-config.mem_size_mib: got 0)");
  if (*n > (UINT64_MAX >> 20)) return make_error(f.name("mem_size_mib") + " is too large");
  return n;
}

Result<void> check_no_nul(const std::string& text, const std::string& field) {
  if (text.find('\0') != std::string::npos) return make_error(field + " must not contain a NUL character");
  return {};
}

Result<void> check_partuuid(const std::string& text, const std::string& field) {
  bool ok = !text.empty() && text.size() <= 64;
  for (char c : text) {
    if (!std::isxdigit(static_cast<unsigned char>(c)) && c != '-') ok = false;
  }
  if (!ok) return make_error(field + " " + quote_value(text) + " is not a partition UUID (hex digits and '-')");
  return {};
}

constexpr EnumName<DriveCacheType> kCacheTypes[] = {{"Unsafe", DriveCacheType::kUnsafe},
                                                     {"Writeback", DriveCacheType::kWriteback}};
constexpr EnumName<DriveIoEngine> kIoEngines[] = {{"Sync", DriveIoEngine::kSync},
                                                  {"Async", DriveIoEngine::kAsync}};
constexpr EnumName<LoggerLevel> kLoggerLevels[] = {
    {"Error", LoggerLevel::kError}, {"Warning", LoggerLevel::kWarning}, {"Info", LoggerLevel::kInfo},
    {"Debug", LoggerLevel::kDebug}, {"Trace", LoggerLevel::kTrace},     {"Off", LoggerLevel::kOff}};
constexpr EnumName<SnapshotType> kSnapshotTypes[] = {{"Full", SnapshotType::kFull},
                                                     {"Diff", SnapshotType::kDiff}};
constexpr EnumName<MemBackendType> kMemBackendTypes[] = {{"File", MemBackendType::kFile},
                                                         {"Uffd", MemBackendType::kUffd}};
// ember's extension to the boot source; case matters, as it does for the yaml's enums.
constexpr EnumName<BzImageMode> kBzImageModes[] = {
    {"auto", BzImageMode::kAuto}, {"host", BzImageMode::kHost}, {"guest", BzImageMode::kGuest}};
constexpr EnumName<RequestedVmState> kVmStates[] = {{"Paused", RequestedVmState::kPaused},
                                                    {"Resumed", RequestedVmState::kResumed}};

// huge_pages: ember has no huge pages.
Result<void> check_only_none(const JsonFields& f) {
  for (std::string_view key : {"huge_pages"}) {
    ASSIGN_OR_RETURN(std::optional<std::string> text, f.optional_string(key));
    if (text && *text != "None")
      return make_error(f.name(key) + " " + quote_value(*text) + " is not supported by ember (only \"None\")");
  }
  return {};
}

// Firecracker's StaticCpuTemplate names, in its order; case matters (serde). Whether a template
// fits this host is decided at InstanceStart, as Firecracker does.
constexpr EnumName<StaticCpuTemplate> kCpuTemplates[] = {
    {"C3", StaticCpuTemplate::kC3},   {"T2", StaticCpuTemplate::kT2},     {"T2S", StaticCpuTemplate::kT2S},
    {"None", StaticCpuTemplate::kNone}, {"T2CL", StaticCpuTemplate::kT2CL}, {"T2A", StaticCpuTemplate::kT2A}};

// The body of PUT and PATCH /machine-config: the same fields; PUT requires two of them.
Result<JsonFields> machine_config_fields(const json& body) {
  ASSIGN_OR_RETURN(JsonFields f, object_fields(body, "machine-config"));
  TRY(f.allow_only({"vcpu_count", "mem_size_mib", "smt", "track_dirty_pages", "cpu_template", "huge_pages"}));
  return f;
}

}  // namespace

Result<PutMachineConfig> parse_put_machine_config(const json& body) {
  ASSIGN_OR_RETURN(JsonFields f, machine_config_fields(body));
  MachineConfig config;
  // serde refuses a mistyped value where it meets it and a missing field only at the end of
  // the object: the values are read before the required ones are asked for.
  ASSIGN_OR_RETURN(std::optional<uint32_t> vcpus, optional_vcpu_count(f));
  ASSIGN_OR_RETURN(std::optional<uint64_t> mem, optional_mem_size_mib(f));
  if (!vcpus) return f.missing("vcpu_count");
  config.vcpu_count = *vcpus;
  if (!mem) return f.missing("mem_size_mib");
  config.mem_size_mib = *mem;
  ASSIGN_OR_RETURN(std::optional<bool> smt, f.optional_boolean("smt"));
  config.smt = smt.value_or(false);
  ASSIGN_OR_RETURN(std::optional<bool> track, f.optional_boolean("track_dirty_pages"));
  config.track_dirty_pages = track.value_or(false);
  TRY(check_only_none(f));
  ASSIGN_OR_RETURN(std::optional<StaticCpuTemplate> cpu_template, optional_enum(f, "cpu_template", kCpuTemplates));
  if (cpu_template) config.cpu_template = *cpu_template;
  return PutMachineConfig{config, cpu_template};
}

Result<PatchMachineConfig> parse_patch_machine_config(const json& body) {
  ASSIGN_OR_RETURN(JsonFields f, machine_config_fields(body));
  if (body.empty())
    // Firecracker answers a PATCH that changes nothing as a PATCH without a body.
    return make_error("Empty PATCH request. (machine-config: name at least one field)");
  PatchMachineConfig patch;
  ASSIGN_OR_RETURN(patch.vcpu_count, optional_vcpu_count(f));
  ASSIGN_OR_RETURN(patch.mem_size_mib, optional_mem_size_mib(f));
  ASSIGN_OR_RETURN(patch.smt, f.optional_boolean("smt"));
  ASSIGN_OR_RETURN(patch.track_dirty_pages, f.optional_boolean("track_dirty_pages"));
  ASSIGN_OR_RETURN(patch.cpu_template, optional_enum(f, "cpu_template", kCpuTemplates));
  TRY(check_only_none(f));
  return patch;
}

Result<BootSourceConfig> parse_put_boot_source(const json& body) {
  ASSIGN_OR_RETURN(JsonFields f, object_fields(body, "boot-source"));
  TRY(f.allow_only({"kernel_image_path", "boot_args", "initrd_path", "bzimage_load"}));
  BootSourceConfig config;
  // Not path(): an empty kernel path has its own message ("is empty"), older than path().
  ASSIGN_OR_RETURN(config.kernel_image_path, f.string("kernel_image_path"));
  if (config.kernel_image_path.empty()) return make_error(f.name("kernel_image_path") + " is empty");
  TRY(check_no_nul(config.kernel_image_path, f.name("kernel_image_path")));
  ASSIGN_OR_RETURN(config.boot_args, f.optional_string("boot_args"));
  if (config.boot_args) TRY(check_no_nul(*config.boot_args, f.name("boot_args")));
  ASSIGN_OR_RETURN(config.initrd_path, f.optional_path("initrd_path"));
  ASSIGN_OR_RETURN(std::optional<BzImageMode> mode, optional_enum(f, "bzimage_load", kBzImageModes));
  config.bzimage_load = mode.value_or(BzImageMode::kAuto);
  return config;
}

Result<DriveConfig> parse_drive(const json& body) {
  ASSIGN_OR_RETURN(JsonFields f, object_fields(body, "drive"));
  if (f.has("socket")) return make_error("drive.socket: vhost-user-block drives are not supported by ember");
  TRY(f.allow_only({"drive_id", "path_on_host", "is_root_device", "is_read_only", "partuuid",
                    "cache_type", "io_engine", "rate_limiter", "socket"}));
  DriveConfig drive;
  ASSIGN_OR_RETURN(drive.drive_id, id_field(f, "drive_id"));
  ASSIGN_OR_RETURN(drive.path_on_host, f.path("path_on_host"));
  ASSIGN_OR_RETURN(drive.is_root_device, f.boolean("is_root_device"));
  // Required by the yaml for virtio-block, but Firecracker itself takes a missing one as false.
  ASSIGN_OR_RETURN(std::optional<bool> read_only, f.optional_boolean("is_read_only"));
  drive.is_read_only = read_only.value_or(false);
  ASSIGN_OR_RETURN(drive.partuuid, f.optional_string("partuuid"));
  if (drive.partuuid) TRY(check_partuuid(*drive.partuuid, f.name("partuuid")));
  ASSIGN_OR_RETURN(std::optional<DriveCacheType> cache, optional_enum(f, "cache_type", kCacheTypes));
  drive.cache_type = cache.value_or(DriveCacheType::kUnsafe);
  ASSIGN_OR_RETURN(std::optional<DriveIoEngine> engine, optional_enum(f, "io_engine", kIoEngines));
  drive.io_engine = engine.value_or(DriveIoEngine::kSync);
  ASSIGN_OR_RETURN(drive.rate_limiter, optional_rate_limiter(f, "rate_limiter"));
  return drive;
}

Result<PatchDrive> parse_partial_drive(const json& body) {
  ASSIGN_OR_RETURN(JsonFields f, object_fields(body, "drive"));
  TRY(f.allow_only({"drive_id", "path_on_host", "rate_limiter"}));
  PatchDrive patch;
  ASSIGN_OR_RETURN(patch.drive_id, id_field(f, "drive_id"));
  ASSIGN_OR_RETURN(patch.path_on_host, f.optional_path("path_on_host"));
  ASSIGN_OR_RETURN(patch.rate_limiter, optional_rate_limiter(f, "rate_limiter"));
  // A PATCH with neither field is Firecracker's vhost-user-block update: the controller
  // refuses it for a virtio-block drive, after the pre-boot check (Firecracker's order).
  return patch;
}

Result<NetworkInterfaceConfig> parse_network_interface(const json& body) {
  ASSIGN_OR_RETURN(JsonFields f, object_fields(body, "network-interface"));
  TRY(f.allow_only({"iface_id", "host_dev_name", "guest_mac", "mtu", "rx_rate_limiter", "tx_rate_limiter"}));
  NetworkInterfaceConfig iface;
  ASSIGN_OR_RETURN(iface.iface_id, id_field(f, "iface_id"));
  ASSIGN_OR_RETURN(iface.host_dev_name, host_dev_name_field(f, "host_dev_name"));
  ASSIGN_OR_RETURN(std::optional<std::string> mac, f.optional_string("guest_mac"));
  if (mac) {
    iface.guest_mac = parse_mac_address(*mac);
    if (!iface.guest_mac)
      return make_error(f.name("guest_mac") + " " + quote_value(*mac) + " is not a MAC address (xx:xx:xx:xx:xx:xx)");
  }
  ASSIGN_OR_RETURN(std::optional<uint64_t> mtu, f.optional_unsigned_integer("mtu"));
  if (mtu) {
    // 68 is IPv4's minimum MTU (RFC 791); 65535 the largest a 16-bit length can say.
    if (*mtu < 68 || *mtu > 65535)
      return make_error(f.name("mtu") + " must be between 68 and 65535, got " + std::to_string(*mtu));
    iface.mtu = static_cast<uint16_t>(*mtu);
  }
  ASSIGN_OR_RETURN(iface.rx_rate_limiter, optional_rate_limiter(f, "rx_rate_limiter"));
  ASSIGN_OR_RETURN(iface.tx_rate_limiter, optional_rate_limiter(f, "tx_rate_limiter"));
  return iface;
}

Result<PatchNetworkInterface> parse_partial_network_interface(const json& body) {
  ASSIGN_OR_RETURN(JsonFields f, object_fields(body, "network-interface"));
  TRY(f.allow_only({"iface_id", "rx_rate_limiter", "tx_rate_limiter"}));
  PatchNetworkInterface patch;
  ASSIGN_OR_RETURN(patch.iface_id, id_field(f, "iface_id"));
  ASSIGN_OR_RETURN(patch.rx_rate_limiter, optional_rate_limiter(f, "rx_rate_limiter"));
  ASSIGN_OR_RETURN(patch.tx_rate_limiter, optional_rate_limiter(f, "tx_rate_limiter"));
  // Neither limiter: accepted, and changes nothing (Firecracker's NetworkInterfaceUpdateConfig).
  return patch;
}

Result<VsockConfig> parse_vsock(const json& body) {
  ASSIGN_OR_RETURN(JsonFields f, object_fields(body, "vsock"));
  TRY(f.allow_only({"guest_cid", "uds_path", "vsock_id"}));
  VsockConfig vsock;
  ASSIGN_OR_RETURN(uint64_t cid, f.unsigned_integer("guest_cid"));
  // CIDs 0-2 are the hypervisor, loopback and host; 0xffffffff is VMADDR_CID_ANY (linux/vm_sockets.h).
  if (cid < 3 || cid >= UINT32_MAX)
    return make_error(f.name("guest_cid") + " must be between 3 and 4294967294, got " + std::to_string(cid));
  vsock.guest_cid = static_cast<uint32_t>(cid);
  ASSIGN_OR_RETURN(vsock.uds_path, f.path("uds_path"));
  ASSIGN_OR_RETURN(vsock.vsock_id, f.optional_string("vsock_id"));
  return vsock;
}

Result<MmdsConfig> parse_mmds_config(const json& body) {
  ASSIGN_OR_RETURN(JsonFields f, object_fields(body, "mmds-config"));
  TRY(f.allow_only({"version", "network_interfaces", "ipv4_address", "imds_compat"}));
  MmdsConfig mmds;
  constexpr EnumName<MmdsVersion> kVersions[] = {{"V1", MmdsVersion::kV1}, {"V2", MmdsVersion::kV2}};
  ASSIGN_OR_RETURN(std::optional<MmdsVersion> version, optional_enum(f, "version", kVersions));
  mmds.version = version.value_or(MmdsVersion::kV1);  // Firecracker's default
  ASSIGN_OR_RETURN(const json* ifaces, f.optional_array("network_interfaces"));
  if (ifaces == nullptr) return f.missing("network_interfaces");
  for (const json& id : *ifaces) {
    if (!id.is_string()) return deserialize_error("invalid type: " + serde_unexpected(id) + ", expected a string" + f.nested_suffix());
    mmds.network_interfaces.push_back(id.get<std::string>());
  }
  ASSIGN_OR_RETURN(std::optional<std::string> address, f.optional_string("ipv4_address"));
  if (address) {
    // serde reads an Ipv4Addr with its FromStr, whose error says this.
    mmds.ipv4_address = parse_ipv4(*address);
    if (!mmds.ipv4_address) return deserialize_error("invalid IPv4 address syntax" + f.nested_suffix());
  }
  ASSIGN_OR_RETURN(std::optional<bool> imds_compat, f.optional_boolean("imds_compat"));
  mmds.imds_compat = imds_compat.value_or(false);
  return mmds;
}

Result<VmmAction> parse_instance_action(const json& body) {
  ASSIGN_OR_RETURN(JsonFields f, object_fields(body, "action"));
  TRY(f.allow_only({"action_type"}));
  enum class Kind { kStart, kCtrlAltDel, kFlushMetrics };
  constexpr EnumName<Kind> kKinds[] = {{"InstanceStart", Kind::kStart},
                                       {"SendCtrlAltDel", Kind::kCtrlAltDel},
                                       {"FlushMetrics", Kind::kFlushMetrics}};
  ASSIGN_OR_RETURN(Kind kind, required_enum(f, "action_type", kKinds));
  switch (kind) {
    case Kind::kStart: return VmmAction(InstanceStart{});
    case Kind::kCtrlAltDel: return VmmAction(SendCtrlAltDel{});
    case Kind::kFlushMetrics: return VmmAction(FlushMetrics{});
  }
  return make_error("action.action_type is not known");
}

Result<RequestedVmState> parse_vm_state(const json& body) {
  ASSIGN_OR_RETURN(JsonFields f, object_fields(body, "vm"));
  TRY(f.allow_only({"state"}));
  return required_enum(f, "state", kVmStates);
}

Result<LoggerConfig> parse_logger(const json& body) {
  ASSIGN_OR_RETURN(JsonFields f, object_fields(body, "logger"));
  TRY(f.allow_only({"log_path", "level", "show_level", "show_log_origin", "module"}));
  LoggerConfig logger;
  ASSIGN_OR_RETURN(logger.log_path, f.optional_path("log_path"));
  // The yaml: "The possible values are case-insensitive."
  ASSIGN_OR_RETURN(logger.level, optional_enum(f, "level", kLoggerLevels, Case::kInsensitive));
  ASSIGN_OR_RETURN(logger.show_level, f.optional_boolean("show_level"));
  ASSIGN_OR_RETURN(logger.show_log_origin, f.optional_boolean("show_log_origin"));
  ASSIGN_OR_RETURN(logger.module, f.optional_string("module"));
  return logger;
}

Result<MetricsConfig> parse_metrics(const json& body) {
  ASSIGN_OR_RETURN(JsonFields f, object_fields(body, "metrics"));
  TRY(f.allow_only({"metrics_path"}));
  MetricsConfig metrics;
  ASSIGN_OR_RETURN(metrics.metrics_path, f.path("metrics_path"));
  return metrics;
}

Result<SnapshotCreateParams> parse_snapshot_create(const json& body) {
  ASSIGN_OR_RETURN(JsonFields f, object_fields(body, "snapshot-create"));
  TRY(f.allow_only({"snapshot_type", "snapshot_path", "mem_file_path"}));
  SnapshotCreateParams params;
  ASSIGN_OR_RETURN(std::optional<SnapshotType> type, optional_enum(f, "snapshot_type", kSnapshotTypes));
  params.snapshot_type = type.value_or(SnapshotType::kFull);
  ASSIGN_OR_RETURN(params.snapshot_path, f.path("snapshot_path"));
  ASSIGN_OR_RETURN(params.mem_file_path, f.path("mem_file_path"));
  return params;
}

Result<SnapshotLoadParams> parse_snapshot_load(const json& body) {
  ASSIGN_OR_RETURN(JsonFields f, object_fields(body, "snapshot-load"));
  TRY(f.allow_only({"snapshot_path", "mem_file_path", "mem_backend", "enable_diff_snapshots",
                    "track_dirty_pages", "resume_vm", "network_overrides", "vsock_override",
                    "clock_realtime"}));
  SnapshotLoadParams params;
  ASSIGN_OR_RETURN(params.snapshot_path, f.path("snapshot_path"));

  // The yaml: exactly one of mem_backend and the deprecated mem_file_path.
  ASSIGN_OR_RETURN(const json* backend, f.optional_object("mem_backend"));
  ASSIGN_OR_RETURN(std::optional<std::string> mem_file, f.optional_path("mem_file_path"));
  if (backend != nullptr && mem_file)
    return deserialize_error("too many fields: either `mem_backend` or `mem_file_path` exclusively is required");
  if (backend == nullptr && !mem_file)
    return deserialize_error("missing field: either `mem_backend` or `mem_file_path` is required");
  if (mem_file) {
    params.mem_backend = MemBackend{MemBackendType::kFile, std::move(*mem_file)};
  } else {
    JsonFields b(*backend, f.name("mem_backend"));
    TRY(b.allow_only({"backend_type", "backend_path"}));
    ASSIGN_OR_RETURN(params.mem_backend.backend_type, required_enum(b, "backend_type", kMemBackendTypes));
    ASSIGN_OR_RETURN(params.mem_backend.backend_path, b.path("backend_path"));
  }

  ASSIGN_OR_RETURN(std::optional<bool> track, f.optional_boolean("track_dirty_pages"));
  ASSIGN_OR_RETURN(std::optional<bool> diff, f.optional_boolean("enable_diff_snapshots"));
  params.track_dirty_pages = track.value_or(false) || diff.value_or(false);
  ASSIGN_OR_RETURN(std::optional<bool> resume, f.optional_boolean("resume_vm"));
  params.resume_vm = resume.value_or(false);
  ASSIGN_OR_RETURN(std::optional<bool> realtime, f.optional_boolean("clock_realtime"));
  params.clock_realtime = realtime.value_or(false);

  ASSIGN_OR_RETURN(const json* overrides, f.optional_array("network_overrides"));
  if (overrides != nullptr) {
    std::set<std::string> seen;
    for (size_t i = 0; i < overrides->size(); ++i) {
      const std::string where = f.name("network_overrides") + "[" + std::to_string(i) + "]";
      ASSIGN_OR_RETURN(JsonFields o, object_fields((*overrides)[i], where));
      TRY(o.allow_only({"iface_id", "host_dev_name"}));
      NetworkOverride item;
      ASSIGN_OR_RETURN(item.iface_id, id_field(o, "iface_id"));
      ASSIGN_OR_RETURN(item.host_dev_name, host_dev_name_field(o, "host_dev_name"));
      if (!seen.insert(item.iface_id).second)
        return make_error(o.name("iface_id") + " " + quote_value(item.iface_id) + " is overridden twice");
      params.network_overrides.push_back(std::move(item));
    }
  }
  ASSIGN_OR_RETURN(const json* vsock, f.optional_object("vsock_override"));
  if (vsock != nullptr) {
    JsonFields v(*vsock, f.name("vsock_override"));
    TRY(v.allow_only({"uds_path"}));
    ASSIGN_OR_RETURN(std::string uds, v.path("uds_path"));
    params.vsock_override = VsockOverride{std::move(uds)};
  }
  return params;
}

std::optional<MacAddress> parse_mac_address(std::string_view text) {
  // Six pairs and five colons: exactly 17 characters.
  if (text.size() != 17) return std::nullopt;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  MacAddress mac{};
  for (size_t i = 0; i < mac.size(); ++i) {
    const size_t at = i * 3;
    if (i > 0 && text[at - 1] != ':') return std::nullopt;
    const int hi = hex(text[at]);
    const int lo = hex(text[at + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    mac[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return mac;
}

}  // namespace ember::api_detail
