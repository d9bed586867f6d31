// Reads the fields of one JSON object of a request body or config-file section, with errors that
// name the field by its dotted path ("drive.rate_limiter.bandwidth.size"). The one field reader
// of api/: every body parser reads its fields through it. Internal to api/.
//
// Its rules, written here once (those of serde, which Firecracker's API uses):
//  - a field given as null is the same as an absent field, for every optional field;
//  - a required field that is absent or null is an error ("... is required");
//  - a field the object does not define is an error (allow_only);
//  - a value of the wrong JSON type is an error;
//  - numbers must be integers of the right sign (1.0, -1 and 1e3 are refused where a count is
//    asked for).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "base/result.h"

namespace ember::api_detail {

class JsonFields {
 public:
  // `obj` must outlive this reader. `where` names the object ("drive").
  JsonFields(const nlohmann::json& obj, std::string where);

  // Refuses the first field whose name is not in `known`.
  [[nodiscard]] Result<void> allow_only(std::initializer_list<std::string_view> known) const;

  // True when the field is present and not null.
  [[nodiscard]] bool has(std::string_view key) const;
  // The field's name in messages: "<where>.<key>".
  [[nodiscard]] std::string name(std::string_view key) const;
  // The error for a required field that is absent or null: "<where>.<key> is required".
  [[nodiscard]] Error missing(std::string_view key) const;

  [[nodiscard]] Result<std::string> string(std::string_view key) const;
  [[nodiscard]] Result<std::optional<std::string>> optional_string(std::string_view key) const;
  // A host path: non-empty, no NUL byte (a NUL would silently cut the path short at open()).
  [[nodiscard]] Result<std::string> path(std::string_view key) const;
  [[nodiscard]] Result<std::optional<std::string>> optional_path(std::string_view key) const;
  [[nodiscard]] Result<bool> boolean(std::string_view key) const;
  [[nodiscard]] Result<std::optional<bool>> optional_boolean(std::string_view key) const;
  [[nodiscard]] Result<uint64_t> unsigned_integer(std::string_view key) const;
  [[nodiscard]] Result<std::optional<uint64_t>> optional_unsigned_integer(std::string_view key) const;
  // A nested object; nullptr when absent or null.
  [[nodiscard]] Result<const nlohmann::json*> optional_object(std::string_view key) const;
  [[nodiscard]] Result<const nlohmann::json*> optional_array(std::string_view key) const;

 private:
  // The value, or nullptr when absent or null.
  [[nodiscard]] const nlohmann::json* find(std::string_view key) const;

  const nlohmann::json& obj_;
  std::string where_;
};

// A value from a request, fit to quote in a message: printable ASCII only, at most 64 bytes.
[[nodiscard]] std::string quote_value(std::string_view text);

// An id of a drive or interface, as Firecracker accepts them: 1 to 64 of [A-Za-z0-9_].
[[nodiscard]] bool is_valid_id(std::string_view id);

}  // namespace ember::api_detail
