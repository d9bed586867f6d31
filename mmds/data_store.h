// The MMDS data store: the JSON document the host fills (PUT/PATCH /mmds) and the guest reads
// (GET over HTTP), with the version the guest must speak and the V2 session tokens. Firecracker's
// `Mmds` (src/vmm/src/mmds/data_store.rs), rule for rule:
// - the document's size is the length of its compact serialisation; a put or patch that would
//   make it longer than the limit is refused (kTooLarge, "The MMDS patch request doesn't fit.")
//   and the store keeps its previous document;
// - a patch before the first put is refused (kInvalid, "The MMDS data store is not
//   initialized.");
// - get_value() reads the guest's path as a JSON pointer (RFC 6901) and answers in JSON or in
//   EC2 IMDS's text format (see get_value()).
// Every method is thread-safe (one mutex inside): the API thread writes, the VMM thread reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "config/models.h"
#include "devices/rate_limiter/clock.h"
#include "mmds/token_authority.h"

namespace ember {

// MmdsVersion (V1, V2) is the config model's (config/models.h).
enum class MmdsFormat { kJson, kImds };

// get_value()'s two errors, told apart by their (Firecracker's) messages: the HTTP service
// answers the first with 404 "Resource not found: <uri>." and the second with 501 and this text.
inline constexpr std::string_view kMmdsNotFound = "The MMDS resource does not exist.";
inline constexpr std::string_view kMmdsUnsupportedType =
    "Cannot retrieve value. The value has an unsupported type.";
[[nodiscard]] inline bool is_mmds_not_found(const Error& e) { return e.message == kMmdsNotFound; }
[[nodiscard]] inline bool is_mmds_unsupported_type(const Error& e) {
  return e.message == kMmdsUnsupportedType;
}

class MmdsDataStore {
 public:
  // Firecracker's default for --mmds-size-limit (and http-api-max-payload-size).
  static constexpr size_t kDefaultSizeLimit = 51200;

  explicit MmdsDataStore(size_t size_limit = kDefaultSizeLimit,
                         const MonotonicClock& clock = system_monotonic_clock());

  // Replaces the document.
  [[nodiscard]] Result<void> put(nlohmann::json data);
  // Merges `patch` into the document (RFC 7396).
  [[nodiscard]] Result<void> patch(const nlohmann::json& patch);
  // The document; {} (an empty object) until the first put, and for a null document, as
  // Firecracker's GET /mmds answers.
  [[nodiscard]] nlohmann::json get() const;
  // get()'s compact text ("{}" until the first put), written under the lock without a copy.
  [[nodiscard]] std::string text() const;

  void configure(MmdsVersion version, bool imds_compat);
  [[nodiscard]] MmdsVersion version() const;
  [[nodiscard]] bool imds_compat() const;
  [[nodiscard]] size_t size_limit() const;

  // For the HTTP service.
  //
  // `path`: the request's path with "//" already collapsed (the service's job). One trailing
  // "/" is dropped, the rest is a JSON pointer: "/a~1b/0" is key "a/b", then element 0; a
  // pointer that does not resolve, or does not start with "/", is not found. The value is
  // written in JSON (compact) or, in IMDS format (forced when imds_compat is set, as EC2
  // ignores Accept), as an object's keys one per line ("key/" for an object value) or a
  // string's raw text; any other type in IMDS format is kMmdsUnsupportedType. Before the first
  // put the document is null: "null" in JSON.
  [[nodiscard]] Result<std::string> get_value(std::string_view path, MmdsFormat format) const;
  [[nodiscard]] Result<std::string> generate_token(uint32_t ttl_seconds);
  [[nodiscard]] bool is_valid_token(std::string_view token) const;

 private:
  mutable std::mutex mutex_;
  const size_t size_limit_;
  nlohmann::json data_;  // null until the first put
  bool initialized_ = false;
  MmdsVersion version_ = MmdsVersion::kV1;  // Firecracker's default
  bool imds_compat_ = false;
  TokenAuthority tokens_;
};

}  // namespace ember
