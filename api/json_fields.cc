#include "api/json_fields.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "config/vm_config.h"

namespace ember::api_detail {

using json = nlohmann::json;

std::string printable(std::string_view text) {
  constexpr size_t kMaxShown = 64;
  std::string out;
  for (size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  if (text.size() > kMaxShown) out += "...";
  return out;
}

JsonFields::JsonFields(const json& obj, std::string where) : obj_(obj), where_(std::move(where)) {}

Result<void> JsonFields::allow_only(std::initializer_list<std::string_view> known) const {
  for (const auto& [key, _] : obj_.items()) {
    if (std::find(known.begin(), known.end(), std::string_view(key)) == known.end())
      return deserialize_error("unknown field `" + printable(key) + "`, expected " + serde_one_of(known) +
                               nested_suffix());
  }
  return {};
}

const json* JsonFields::find(std::string_view key) const {
  auto it = obj_.find(std::string(key));
  if (it == obj_.end() || it->is_null()) return nullptr;
  return &*it;
}

bool JsonFields::has(std::string_view key) const { return find(key) != nullptr; }

std::string JsonFields::name(std::string_view key) const { return where_ + "." + std::string(key); }

std::string JsonFields::nested_suffix() const {
  return where_.find_first_of(".[") == std::string::npos ? "" : " in " + where_;
}

Error JsonFields::missing(std::string_view key) const {
  // serde's Option: a null is an absent value, so a required field given as null is missing
  // too; say so, since the client most likely meant to give it.
  auto it = obj_.find(std::string(key));
  const bool given_null = it != obj_.end() && it->is_null();
  return deserialize_error("missing field `" + std::string(key) + "`" + nested_suffix() +
                           (given_null ? " (null counts as absent)" : ""));
}

Error JsonFields::invalid_type(std::string_view key, std::string_view expected) const {
  const json* v = find(key);
  const std::string given = v == nullptr ? "null" : serde_unexpected(*v);
  // serde says "invalid value" for a value of the right type outside the type's range (a
  // negative integer for an unsigned field).
  const bool out_of_range = v != nullptr && v->is_number_integer() && !v->is_number_unsigned();
  return deserialize_error(std::string(out_of_range ? "invalid value: " : "invalid type: ") + given + ", expected " +
                           std::string(expected) + " (" + name(key) + ")");
}

Result<std::optional<std::string>> JsonFields::optional_string(std::string_view key) const {
  const json* v = find(key);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return invalid_type(key, "a string");
  return std::optional<std::string>(v->get<std::string>());
}

Result<std::string> JsonFields::string(std::string_view key) const {
  ASSIGN_OR_RETURN(std::optional<std::string> s, optional_string(key));
  if (!s) return missing(key);
  return std::move(*s);
}

Result<std::optional<std::string>> JsonFields::optional_path(std::string_view key) const {
  ASSIGN_OR_RETURN(std::optional<std::string> s, optional_string(key));
  if (!s) return s;
  if (s->empty()) return make_error(name(key) + " must not be empty");  // ember's own check
  if (s->find('\0') != std::string::npos) return make_error(name(key) + " must not contain a NUL character");
  return s;
}

Result<std::string> JsonFields::path(std::string_view key) const {
  ASSIGN_OR_RETURN(std::optional<std::string> s, optional_path(key));
  if (!s) return missing(key);
  return std::move(*s);
}

Result<std::optional<bool>> JsonFields::optional_boolean(std::string_view key) const {
  const json* v = find(key);
  if (v == nullptr) return std::optional<bool>();
  if (!v->is_boolean()) return invalid_type(key, "a boolean");
  return std::optional<bool>(v->get<bool>());
}

Result<bool> JsonFields::boolean(std::string_view key) const {
  ASSIGN_OR_RETURN(std::optional<bool> b, optional_boolean(key));
  if (!b) return missing(key);
  return *b;
}

Result<std::optional<uint64_t>> JsonFields::optional_unsigned_integer(std::string_view key) const {
  const json* v = find(key);
  if (v == nullptr) return std::optional<uint64_t>();
  // nlohmann keeps a non-negative integer literal as unsigned; a negative one is signed, and
  // one past 2^64-1 or with a fraction or exponent is a float.
  if (!v->is_number_unsigned()) return invalid_type(key, "u64");
  return std::optional<uint64_t>(v->get<uint64_t>());
}

Result<uint64_t> JsonFields::unsigned_integer(std::string_view key) const {
  ASSIGN_OR_RETURN(std::optional<uint64_t> n, optional_unsigned_integer(key));
  if (!n) return missing(key);
  return *n;
}

Result<const json*> JsonFields::optional_object(std::string_view key) const {
  const json* v = find(key);
  if (v != nullptr && !v->is_object()) return invalid_type(key, "a map");
  return v;
}

Result<const json*> JsonFields::optional_array(std::string_view key) const {
  const json* v = find(key);
  if (v != nullptr && !v->is_array()) return invalid_type(key, "a sequence");
  return v;
}

Error deserialize_error(std::string_view serde_text) {
  return make_error(std::string(kDeserializeErrorPrefix) + std::string(serde_text));
}

std::string serde_one_of(const std::vector<std::string_view>& names) {
  std::string out;
  size_t i = 0;
  for (std::string_view n : names) {
    if (i > 0) out += (names.size() == 2) ? " or " : ", ";
    out += "`" + std::string(n) + "`";
    ++i;
  }
  if (names.size() > 2) out = "one of " + out;
  if (names.size() == 0) out = "nothing";
  return out;
}

std::string serde_unexpected(const json& value) {
  switch (value.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return std::string("boolean `") + (value.get<bool>() ? "true" : "false") + "`";
    case json::value_t::number_unsigned:
    case json::value_t::number_integer: return "integer `" + value.dump() + "`";
    case json::value_t::number_float: return "floating point `" + value.dump() + "`";
    case json::value_t::string: return "string \"" + printable(value.get<std::string>()) + "\"";
    case json::value_t::array: return "sequence";
    default: return "map";
  }
}

std::string quote_value(std::string_view text) { return "'" + printable(text) + "'"; }

bool is_valid_id(std::string_view id) { return is_valid_device_id(id); }

}  // namespace ember::api_detail
