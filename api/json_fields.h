// Reads the fields of one JSON object of a request body or config-file section. The one field
// reader of api/: every body parser reads its fields through it. Internal to api/.
//
// Its errors are worded as serde's, which Firecracker's clients match ("missing field
// `vcpu_count`", "unknown field `io_engine`, expected one of ...", "invalid type: string \"x\",
// expected u64"), behind Firecracker's prefix (kDeserializeErrorPrefix); a nested object's
// errors add its dotted path after serde's text ("... in drive.rate_limiter.ops").
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
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/result.h"

namespace ember::api_detail {

// Firecracker's RequestError::SerdeJson wording: every error that serde would raise while
// reading a body (missing, unknown or mistyped fields, unknown enum variants) starts with it.
inline constexpr std::string_view kDeserializeErrorPrefix =
    "An error occurred when deserializing the json body of a request: ";

// An error with kDeserializeErrorPrefix before `serde_text`.
[[nodiscard]] Error deserialize_error(std::string_view serde_text);
// serde's "a, b or c" list of names: "`a`", "`a` or `b`", "one of `a`, `b`, `c`".
[[nodiscard]] std::string serde_one_of(const std::vector<std::string_view>& names);
// serde's description of an unexpected JSON value: "string \"x\"", "integer `-1`", "boolean `true`".
[[nodiscard]] std::string serde_unexpected(const nlohmann::json& value);

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
  // The error for a required field that is absent or null: serde's "missing field `<key>`",
  // then " in <where>" for a nested object.
  [[nodiscard]] Error missing(std::string_view key) const;
  // A deserialize_error for a value of the wrong type: "invalid type: <what was given>,
  // expected <expected>", and where the field is.
  [[nodiscard]] Error invalid_type(std::string_view key, std::string_view expected) const;
  // " in <where>" for a nested object ("drive.rate_limiter"); "" for a whole body.
  [[nodiscard]] std::string nested_suffix() const;
  [[nodiscard]] const nlohmann::json* raw(std::string_view key) const { return find(key); }

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

// A value from a request, fit for a message: printable ASCII only, at most 64 bytes.
[[nodiscard]] std::string printable(std::string_view text);
// A value from a request, fit to quote in a message: printable ASCII only, at most 64 bytes.
[[nodiscard]] std::string quote_value(std::string_view text);

// An id of a drive or interface, as Firecracker accepts them: 1 to 64 of [A-Za-z0-9_].
[[nodiscard]] bool is_valid_id(std::string_view id);

}  // namespace ember::api_detail
