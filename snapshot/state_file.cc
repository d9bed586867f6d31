#include "snapshot/state_file.h"

#include <cstring>

#include "snapshot/atomic_file.h"
#include "snapshot/crc64.h"
#include "base/file.h"

namespace ember {
namespace {

constexpr const char (&kMagic)[8] = kStateFileMagic;
constexpr size_t kHeaderSize = 24;
constexpr size_t kCrcSize = 8;

template <class T>
void put(std::vector<uint8_t>& out, T v) {
  const auto* b = reinterpret_cast<const uint8_t*>(&v);
  out.insert(out.end(), b, b + sizeof v);
}

template <class T>
T get(std::span<const uint8_t> in, size_t off) {
  T v;
  std::memcpy(&v, in.data() + off, sizeof v);
  return v;
}

}  // namespace

std::vector<uint8_t> encode_state_file(std::span<const uint8_t> payload, uint32_t version) {
  std::vector<uint8_t> out(kMagic, kMagic + sizeof kMagic);
  out.reserve(kHeaderSize + payload.size() + kCrcSize);
  put<uint32_t>(out, version);
  put<uint32_t>(out, 0);
  put<uint64_t>(out, payload.size());
  out.insert(out.end(), payload.begin(), payload.end());
  put<uint64_t>(out, crc64(out));
  return out;
}

Result<std::vector<uint8_t>> decode_state_file(std::span<const uint8_t> file) {
  if (file.size() < sizeof kMagic || std::memcmp(file.data(), kMagic, sizeof kMagic) != 0)
    return make_error("not an ember snapshot state file (no EMBERSNP magic)");
  if (file.size() < kHeaderSize + kCrcSize)
    return make_error("snapshot state file is truncated (" + std::to_string(file.size()) + " bytes)");
  const auto version = get<uint32_t>(file, 8);
  if (version != kSnapshotFormatVersion)
    return make_error("snapshot state file has format version " + std::to_string(version) +
                      "; this ember reads version " + std::to_string(kSnapshotFormatVersion) +
                      " only (take the snapshot again with this ember)");
  if (get<uint32_t>(file, 12) != 0) return make_error("snapshot state file header has reserved bits set");
  const auto payload_size = get<uint64_t>(file, 16);
  if (payload_size > kMaxSnapshotPayload)
    return make_error("snapshot state file claims a " + std::to_string(payload_size) + "-byte payload, more than " +
                      std::to_string(kMaxSnapshotPayload));
  const uint64_t expected = kHeaderSize + payload_size + kCrcSize;
  if (file.size() < expected)
    return make_error("snapshot state file is truncated: " + std::to_string(file.size()) + " bytes, the header says " +
                      std::to_string(expected));
  if (file.size() > expected)
    return make_error("snapshot state file has " + std::to_string(file.size() - expected) +
                      " bytes after its checksum");
  const size_t crc_at = kHeaderSize + payload_size;
  if (crc64(file.first(crc_at)) != get<uint64_t>(file, crc_at))
    return make_error("snapshot state file is corrupted (CRC-64 mismatch)");
  return std::vector<uint8_t>(file.begin() + kHeaderSize, file.begin() + static_cast<std::ptrdiff_t>(crc_at));
}

Result<void> write_state_file(const std::string& path, std::span<const uint8_t> payload) {
  const std::vector<uint8_t> bytes = encode_state_file(payload);
  return write_file_atomically(path, [&](int fd) {
    return write_all_at(fd, bytes.data(), bytes.size(), 0, "snapshot state " + path);
  });
}

Result<std::vector<uint8_t>> read_state_file(const std::string& path) {
  auto bytes = read_file(path, kMaxSnapshotPayload + kHeaderSize + kCrcSize);
  if (!bytes) return bytes.error();
  auto payload = decode_state_file(*bytes);
  if (!payload) return with_context(path, payload.error());
  return payload;
}

}  // namespace ember
